"""The fields of a Twilio webhook that say which message it is and whose: checked to their
documented shape, once each, and against the business's own account.

Twilio signs the URL followed by each sorted name and value run together, so the boundary
between a name and its value is not signed: `MessageSid=SM…&NumMedia=0` and
`MessageSid=SM…NumMedia0` carry the same signature. Only a field read to its exact shape (two
letters and 32 hex digits for a SID), present once, keeps a captured webhook from coming back
as a new message.
"""

from __future__ import annotations

import re

from bot.domain import Forbidden, InvalidInput
from integrations.whatsapp.account import TwilioAccount
from integrations.whatsapp.forms import FormParams

# Twilio's own pattern for its SIDs: the resource's two letters, then 32 hex digits. A
# message is SM (MM when it carries media), an account AC.
MESSAGE_SID = re.compile(r"(?:SM|MM)[0-9a-fA-F]{32}")
ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
# A WhatsApp address: "whatsapp:" and an E.164 number (at most 15 digits).
ADDRESS = re.compile(r"whatsapp:\+[1-9][0-9]{5,14}")
# A message carries at most 10 media.
MEDIA_COUNT = re.compile(r"10|[0-9]")
# Fields Kesher reads: each may be posted once, a second copy could only be a shifted boundary.
READ = frozenset(
    {
        "MessageSid",
        "SmsMessageSid",
        "SmsSid",
        "AccountSid",
        "From",
        "To",
        "Body",
        "NumMedia",
        "MessageType",
        "ProfileName",
        "ButtonPayload",
        "ButtonText",
        "ListId",
        "ListTitle",
        "Latitude",
        "Longitude",
        "Label",
        "Address",
        "MessageStatus",
        "SmsStatus",
        "ErrorCode",
        "ErrorMessage",
        *(f"{name}{n}" for name in ("MediaUrl", "MediaContentType") for n in range(10)),
    }
)


def message_sid(params: FormParams, account: TwilioAccount, *, incoming: bool) -> str:
    """The message's SID once the webhook's identifying fields hold: each read field posted
    once, MessageSid (or, in an older callback, SmsSid) shaped as Twilio makes them and equal to
    the other copies, AccountSid the business's own; for an `incoming` message also the
    addresses and NumMedia well formed.

    InvalidInput (400) for a field of the wrong shape, Forbidden (403) for another account.
    """
    repeated = sorted(name for name in READ if len(params.getall(name)) > 1)
    if repeated:
        raise InvalidInput(f"the webhook repeats {', '.join(repeated)}", code="duplicate_field")
    copies = {params[name] for name in ("MessageSid", "SmsMessageSid", "SmsSid") if name in params}
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if not sid:
        raise InvalidInput("the webhook has no MessageSid", code="missing_messagesid")
    if not MESSAGE_SID.fullmatch(sid) or copies != {sid}:
        raise InvalidInput(
            "the webhook's MessageSid is not a Twilio message SID (SM or MM and 32 hex digits)",
            code="invalid_messagesid",
        )
    given = params.get("AccountSid", "")
    if not ACCOUNT_SID.fullmatch(given):
        raise InvalidInput(
            "the webhook's AccountSid is not a Twilio account SID (AC and 32 hex digits)",
            code="invalid_accountsid",
        )
    if given != account.account_sid:
        raise Forbidden(
            "the webhook is for another Twilio account than this business's", code="wrong_account"
        )
    if not incoming:
        return sid
    for name in ("From", "To"):
        if name in params and not ADDRESS.fullmatch(params[name]):
            raise InvalidInput(
                f"the webhook's {name} is not a WhatsApp address (whatsapp:+ and a number)",
                code=f"invalid_{name.lower()}",
            )
    if "NumMedia" in params and not MEDIA_COUNT.fullmatch(params["NumMedia"]):
        raise InvalidInput("the webhook's NumMedia is not 0 to 10", code="invalid_nummedia")
    return sid
