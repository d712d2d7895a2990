"""Moderated message retraction (XEP-0425, the older urn:xmpp:message-moderate:0 form) with slixmpp against Parley.

Usage: slixmpp_moderation.py HOST PORT ROOM OWNER:PASSWORD SPEAKER:PASSWORD WITNESS:PASSWORD
The owner creates ROOM (persistent, so archived), the speaker and the witness join, the speaker posts spam, the
witness (a participant) is refused when it tries to moderate it, the owner moderates it with a reason, and the
witness's client reports the moderated_message event it got.
Prints one JSON line with what happened.
"""
import asyncio
import ssl
import sys

import slixmpp
from slixmpp import JID
from slixmpp.exceptions import IqError

from interop_common import TIMEOUT, report, wait_until

host, port, room = sys.argv[1:4]
accounts = [a.split(":", 1) for a in sys.argv[4:7]]
port = int(port)


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password, sasl_mech="SCRAM-SHA-256")
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        for plugin in ("xep_0030", "xep_0004", "xep_0045", "xep_0359", "xep_0425"):
            self.register_plugin(plugin)
        self.ready = asyncio.get_event_loop().create_future()
        self.groupchat = {}  # body -> the room's stanza-id
        self.moderated = []
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("groupchat_message", self.on_groupchat)
        self.add_event_handler("moderated_message", self.moderated.append)

    def on_groupchat(self, message):
        self.groupchat[message["body"]] = message["stanza_id"]["id"]

    async def on_start(self, _):
        self.send_presence()
        self.ready.set_result(True)

    @property
    def muc(self):
        return self.plugin["xep_0045"]


async def online(jid, password):
    client = Client(jid, password)
    client.connect((host, port), force_starttls=True)
    await asyncio.wait_for(client.ready, TIMEOUT)
    return client


async def main():
    owner, speaker, witness = [await online(*account) for account in accounts]
    result = {}

    await owner.muc.join_muc_wait(room, "Owner", maxstanzas=0, timeout=TIMEOUT)
    form = await owner.muc.get_room_config(room)
    form.set_values({"muc#roomconfig_persistentroom": True})
    await owner.muc.set_room_config(room, form)
    await speaker.muc.join_muc_wait(room, "Speaker", maxstanzas=0, timeout=TIMEOUT)
    await witness.muc.join_muc_wait(room, "Witness", maxstanzas=0, timeout=TIMEOUT)
    info = await owner["xep_0030"].get_info(jid=room)
    result["legacy_feature"] = "urn:xmpp:message-moderate:0" in info["disco_info"]["features"]

    speaker.send_message(mto=room, mbody="buy cheap potions", mtype="groupchat")
    await wait_until(lambda: "buy cheap potions" in owner.groupchat and "buy cheap potions" in witness.groupchat, "the spam")
    stanza_id = owner.groupchat["buy cheap potions"]
    result["stanza_id"] = stanza_id

    try:
        await witness["xep_0425"].moderate(JID(room), stanza_id, "Not mine to take", timeout=TIMEOUT)
        result["participant_refused"] = None
    except IqError as e:
        result["participant_refused"] = e.condition

    await owner["xep_0425"].moderate(JID(room), stanza_id, "Spam", timeout=TIMEOUT)
    await wait_until(lambda: witness.moderated, "the moderated_message event")
    moderated = witness.moderated[0]
    result["moderated_id"] = moderated["apply_to"]["id"]
    result["moderated_by"] = str(moderated["apply_to"]["moderated"]["by"])
    result["reason"] = moderated["apply_to"]["moderated"]["reason"]

    for client in (owner, speaker, witness):
        client.disconnect()
    report(result, True)


asyncio.run(main())
