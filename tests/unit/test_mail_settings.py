"""A mail server URL that cannot be one is refused at start, naming the setting; the password
in it is never shown back."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.settings import Settings


@pytest.mark.parametrize(
    "url", ["mail.example.com:587", "http://mail.example.com", "smtp://", "smtps:///x"]
)
def test_a_url_that_is_not_a_mail_server_is_refused(url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, smtp_url=url)  # type: ignore[call-arg]
    assert "smtp_url" in str(refused.value)
    assert "smtp://[user:password@]host[:port]" in str(refused.value)


def test_a_mail_server_url_is_kept_secret() -> None:
    settings = Settings(_env_file=None, smtp_url="smtps://kesher:s3cret@mail.example.com:465")  # type: ignore[call-arg]
    assert settings.smtp_url is not None
    assert settings.smtp_url.get_secret_value().endswith("@mail.example.com:465")
    assert "s3cret" not in repr(settings)
