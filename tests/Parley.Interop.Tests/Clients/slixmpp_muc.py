"""Multi-user chat with slixmpp's XEP-0045 plugin against Parley.

Usage: slixmpp_muc.py HOST PORT PHASE ROOM JID:PASSWORD...
PHASE "setup": Alice creates ROOM and makes it persistent, invites Bob, Bob joins from two devices, Carol is
silenced and kicked, Alice talks, one of Bob's devices leaves; Carol's ad hoc room vanishes when she leaves.
Occupant ids (xep_0421) are read from every room presence and message.
PHASE "after-restart": Bob joins ROOM again and reads its history.
Prints one JSON line with what happened.
"""
import asyncio
import ssl
import sys

import slixmpp
from slixmpp.exceptions import IqError

from interop_common import TIMEOUT, report, wait_until

host, port, phase, room = sys.argv[1:5]
accounts = [a.split(":", 1) for a in sys.argv[5:]]
port = int(port)


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password, sasl_mech="SCRAM-SHA-256")
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0045")
        self.register_plugin("xep_0004")
        self.register_plugin("xep_0421")
        self.ready = asyncio.get_event_loop().create_future()
        self.groupchat = []
        self.invites = []
        self.presences = []
        self.occupant_ids = {}  # nick -> the occupant ids seen in its presences and messages
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("groupchat_message", self.on_groupchat)
        self.add_event_handler("groupchat_invite", lambda m: self.invites.append(str(m["from"])))
        self.add_event_handler("groupchat_presence", self.on_room_presence)

    def on_groupchat(self, message):
        self.groupchat.append(message["body"])
        self.saw_occupant_id(message)

    def on_room_presence(self, presence):
        self.presences.append(presence)
        self.saw_occupant_id(presence)

    def saw_occupant_id(self, stanza):
        self.occupant_ids.setdefault(stanza["from"].resource, set()).add(stanza["occupant-id"]["id"])

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


def codes(presence):
    return sorted(int(c) for c in presence["muc"]["status_codes"])


async def setup():
    alice = await online(*accounts[0])
    bob_phone = await online(accounts[1][0] + "/phone", accounts[1][1])
    bob_desk = await online(accounts[1][0] + "/desk", accounts[1][1])
    carol = await online(*accounts[2])
    result = {}

    self_presence, _, _, _ = await alice.muc.join_muc_wait(room, "Alice", maxstanzas=0, timeout=TIMEOUT)
    result["created_codes"] = codes(self_presence)
    form = await alice.muc.get_room_config(room)
    form.set_values({"muc#roomconfig_persistentroom": True, "muc#roomconfig_roomname": "Team room"})
    await alice.muc.set_room_config(room, form)

    alice.muc.invite(room, accounts[1][0], reason="Sprint planning")
    await wait_until(lambda: bob_phone.invites or bob_desk.invites, "Bob's invitation")
    result["invited_by"] = (bob_phone.invites or bob_desk.invites)[0]

    await bob_phone.muc.join_muc_wait(room, "Bob", maxstanzas=0, timeout=TIMEOUT)
    desk_self, _, _, _ = await bob_desk.muc.join_muc_wait(room, "Bob", maxstanzas=0, timeout=TIMEOUT)
    result["second_device_codes"] = codes(desk_self)
    await carol.muc.join_muc_wait(room, "Carol", maxstanzas=0, timeout=TIMEOUT)

    await alice.muc.set_role(room, "Carol", "visitor")
    await wait_until(lambda: carol.muc.get_jid_property(room, "Carol", "role") == "visitor", "Carol's voice revoked")
    await alice.muc.set_role(room, "Carol", "none", reason="Off topic")
    await wait_until(lambda: any(p["type"] == "unavailable" and 307 in codes(p) for p in carol.presences), "Carol kicked")
    result["kicked"] = True

    alice.send_message(mto=room, mbody="before the restart", mtype="groupchat")
    await wait_until(lambda: "before the restart" in bob_phone.groupchat and "before the restart" in bob_desk.groupchat, "the message on both devices")
    bob_phone.muc.leave_muc(room, "Bob")
    await wait_until(lambda: any(p["type"] == "unavailable" for p in bob_phone.presences), "the phone leaving")
    alice.send_message(mto=room, mbody="desk only", mtype="groupchat")
    await wait_until(lambda: "desk only" in bob_desk.groupchat, "the message on the remaining device")
    result["both_devices"] = True
    # Not xep_0421's has_feature: in this slixmpp it calls a method disco results do not have.
    room_info = await alice["xep_0030"].get_info(jid=room)
    result["occupant_id_feature"] = "urn:xmpp:occupant-id:0" in room_info["disco_info"]["features"]
    result["bob_ids_seen_by_alice"] = sorted(alice.occupant_ids["Bob"])
    result["carol_ids_seen_by_alice"] = sorted(alice.occupant_ids["Carol"])
    result["alice_ids_seen_by_bob"] = sorted(bob_phone.occupant_ids["Alice"] | bob_desk.occupant_ids["Alice"])

    adhoc = "adhoc-" + room.split("@")[0] + "@" + room.split("@")[1]
    await carol.muc.join_muc_wait(adhoc, "Carol", maxstanzas=0, timeout=TIMEOUT)
    carol_form = await carol.muc.get_room_config(adhoc)
    await carol.muc.set_room_config(adhoc, carol_form)
    items = await alice["xep_0030"].get_items(jid=room.split("@")[1])
    result["adhoc_listed_while_occupied"] = any(str(i[0]) == adhoc for i in items["disco_items"]["items"])
    carol.muc.leave_muc(adhoc, "Carol")
    # slixmpp forgets the room as it sends the leave, so the room's answer is what tells that it went.
    result["adhoc_after_leaving"] = "exists"
    deadline = asyncio.get_event_loop().time() + TIMEOUT
    while result["adhoc_after_leaving"] == "exists" and asyncio.get_event_loop().time() < deadline:
        try:
            await alice["xep_0030"].get_info(jid=adhoc)
        except IqError as e:
            result["adhoc_after_leaving"] = e.condition

    for client in (alice, bob_phone, bob_desk, carol):
        client.disconnect()
    return result


async def after_restart():
    bob = await online(*accounts[0])
    _, subject, _, history = await bob.muc.join_muc_wait(room, "Bob", maxstanzas=10, timeout=TIMEOUT)
    info = await bob["xep_0030"].get_info(jid=room)
    bob.disconnect()
    return {
        "history": [m["body"] for m in history],
        "name": info["disco_info"]["identities"] and list(info["disco_info"]["identities"])[0][3],
    }


async def main():
    result = await (setup() if phase == "setup" else after_restart())
    report(result, True)


asyncio.run(main())
