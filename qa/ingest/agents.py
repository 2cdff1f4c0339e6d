"""The agent directory: every name the PBX uses for an agent, mapped to one agent id.

The PBX names the same person many ways: queue_log writes the member name (``Alice Smith``) or
interface (``Local/1001@from-queue/n``, ``PJSIP/1001``), the CDR a channel with a suffix
(``PJSIP/1001-00000031``, ``Local/1001@from-queue-0000000d;1``), a recording name the extension::

    directory = AgentDirectory(config.agents)
    directory.resolve("PJSIP/1001-00000031").id   # '1001'
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from qa.config import AgentEntry

__all__ = ["AgentDirectory", "channel_extension", "normalise_identity"]

# A channel instance's suffix: "-0000001f" (PJSIP/SIP/IAX2) or "-0000000d;1" (Local).
_CHANNEL_SUFFIX = re.compile(r"-[0-9a-f]{6,}(?:;\d)?$", re.IGNORECASE)
_EXTENSION = re.compile(r"^(?:[A-Za-z0-9]+/)?(?P<ext>[^@/;]+)")


_LOCAL_SUFFIX = re.compile(r";\d$")
_LOCAL_NOANSWER = re.compile(r"/n$")


def normalise_identity(identity: str) -> str:
    """Case-folded, without a channel instance's suffix or a Local channel's ``/n`` and ``;1``."""
    text = identity.strip()
    if "/" in text:  # a channel or interface, not a member name
        text = _CHANNEL_SUFFIX.sub("", text)
        text = _LOCAL_SUFFIX.sub("", text)
        text = _LOCAL_NOANSWER.sub("", text)
    return text.casefold()


def channel_extension(channel: str) -> str | None:
    """The extension a device or Local channel belongs to: ``PJSIP/1001-0000001f`` → ``1001``,
    ``Local/1001@from-queue-0000000d;1`` → ``1001``; None for anything else (trunks included,
    which then simply match no agent)."""
    text = normalise_identity(channel)
    if "/" not in text:
        return None
    match = _EXTENSION.match(text)
    return match["ext"] if match else None


class AgentDirectory:
    """Resolves PBX identities to configured agents."""

    def __init__(self, agents: Iterable[AgentEntry] = ()) -> None:
        self.agents = tuple(agents)
        self._by_identity: dict[str, AgentEntry] = {}
        for agent in self.agents:
            for identity in (agent.id, *agent.identities):
                self._by_identity.setdefault(normalise_identity(identity), agent)

    def __len__(self) -> int:
        return len(self.agents)

    def resolve(self, identity: str | None) -> AgentEntry | None:
        """The agent known by ``identity`` (a name, extension or channel), or None."""
        if not identity or not self._by_identity:
            return None
        if identity.strip().upper() in ("NONE", "UNKNOWN", "S"):
            return None
        agent = self._by_identity.get(normalise_identity(identity))
        if agent is not None:
            return agent
        extension = channel_extension(identity)
        return self._by_identity.get(extension) if extension else None

    def first(self, *identities: str | None) -> AgentEntry | None:
        """The agent behind the first of ``identities`` that resolves."""
        for identity in identities:
            agent = self.resolve(identity)
            if agent is not None:
                return agent
        return None
