"""Sending one message once: an email over SMTP (STARTTLS, login) or a signed webhook POST.

A webhook receiver checks the signature header against the body with the shared secret::

    expected = "sha256=" + hmac.new(secret, request_body, hashlib.sha256).hexdigest()
    hmac.compare_digest(expected, request.headers["X-CallQA-Signature"])

and may drop a repeat by its ``Idempotency-Key`` header (an alert is sent at least once: a run
killed between sending and recording sends it again).
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage

from qa.alert_config import Channel, SmtpSettings

SIGNATURE_HEADER = "X-CallQA-Signature"
KEY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-CallQA-Event"


class DeliveryError(Exception):
    """One try failed; the message says why (the receiver's status, the server's reply)."""


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the HMAC-SHA256 of the body, in hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(channel: Channel, body: bytes, key: str, event: str) -> None:
    """POST the JSON body to the channel's URL, signed; any status but 2xx is a failure."""
    secret = channel.secret.get_secret_value() if channel.secret else ""
    request = urllib.request.Request(
        channel.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "callqa-alerts/1",
            SIGNATURE_HEADER: sign(secret, body),
            KEY_HEADER: key,
            EVENT_HEADER: event,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=channel.timeout_seconds) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        raise DeliveryError(f"{channel.url} answered {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DeliveryError(f"{channel.url} could not be reached: {reason}") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"{channel.url} answered {status}")


def send_email(smtp: SmtpSettings, message: EmailMessage) -> None:
    """Send through the site's mail server: STARTTLS (verifying its certificate) and login when
    configured."""
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds) as server:
            server.ehlo()
            if smtp.starttls:
                context = ssl.create_default_context(
                    cafile=str(smtp.ca_file) if smtp.ca_file else None
                )
                server.starttls(context=context)
                server.ehlo()
            if smtp.username:
                password = smtp.password.get_secret_value() if smtp.password else ""
                server.login(smtp.username, password)
            refused = server.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryError(f"mail server {smtp.host}:{smtp.port}: {error}") from None
    if refused:
        raise DeliveryError(f"mail server {smtp.host}:{smtp.port} refused {sorted(refused)}")
