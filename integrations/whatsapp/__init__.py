"""The WhatsApp channel through Twilio: signed webhooks in, the Messages REST API out.

Webhooks are checked with the SDK's RequestValidator over the exact public URL and every
posted parameter, then normalised. Replies go out through the SDK's async client, whose HTTP
client is rooted at KESHER_TWILIO_API_URL so a test double on loopback works unchanged.
"""

from integrations.whatsapp.account import DEFAULT_MPS, MAX_MPS, TwilioAccount
from integrations.whatsapp.channel import CAPABILITIES, WhatsAppChannel
from integrations.whatsapp.forms import read_form
from integrations.whatsapp.sending import MAX_TEXT, RootedHttpClient, WhatsAppSender
from integrations.whatsapp.webhooks import parse_inbound, parse_status, verify

__all__ = [
    "CAPABILITIES",
    "DEFAULT_MPS",
    "MAX_MPS",
    "MAX_TEXT",
    "RootedHttpClient",
    "TwilioAccount",
    "WhatsAppChannel",
    "WhatsAppSender",
    "parse_inbound",
    "parse_status",
    "read_form",
    "verify",
]
