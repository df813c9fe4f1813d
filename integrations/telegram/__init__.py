"""The Telegram channel: python-telegram-bot as a typed Bot API client and update parser.

Updates arrive on Kesher's own webhook; nothing here keeps business state. Each business has
its own bot, so clients are made per token (and kept for reuse) from the business's account.
"""

from integrations.telegram.channel import MAX_TEXT, TelegramChannel, keyboard
from integrations.telegram.updates import parse_update

__all__ = ["MAX_TEXT", "TelegramChannel", "keyboard", "parse_update"]
