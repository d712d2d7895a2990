"""Multi-user chat with python3-aioxmpp's MUC client against Parley.

Usage: aioxmpp_muc.py HOST PORT ROOM ALICE_JID:PW BOB_JID:PW CAROL_JID:PW
Alice creates ROOM (a reserved room: aioxmpp asks with <x xmlns='…muc'/>) and configures it persistent and named;
Bob joins from two devices under one nickname, Carol joins; they talk; Alice revokes Carol's voice, kicks her and
makes Bob an admin; Bob's phone leaves. Carol's ad hoc room disappears when she leaves, and joining it again
creates it afresh. Prints one JSON line with what happened.
"""
import asyncio
import sys

import aioxmpp
import aioxmpp.connector
import aioxmpp.disco
import aioxmpp.errors
import aioxmpp.muc
import aioxmpp.muc.xso

from interop_common import TIMEOUT, report, wait_until

host, port, room_text = sys.argv[1:4]
(alice_jid, alice_pw), (bob_jid, bob_pw), (carol_jid, carol_pw) = [a.split(":", 1) for a in sys.argv[4:7]]
port = int(port)
room_jid = aioxmpp.JID.fromstr(room_text)
service_jid = aioxmpp.JID.fromstr(room_jid.domain)
adhoc_jid = aioxmpp.JID.fromstr("adhoc-" + room_text)


def make_client(jid, password):
    client = aioxmpp.PresenceManagedClient(
        aioxmpp.JID.fromstr(jid),
        # The node's certificate is self-signed; the test is about XMPP, not the PKI.
        aioxmpp.make_security_layer(password, no_verify=True),
        override_peer=[(host, port, aioxmpp.connector.STARTTLSConnector())],
    )
    client.presence = aioxmpp.PresenceState(True)
    return client


class Occupancy:
    """One device in one room: what it received, how it entered and how it left."""

    def __init__(self, client, room_address, nick, history=0):
        self.muc = client.summon(aioxmpp.MUCClient)
        self.room, self.joined = self.muc.join(room_address, nick, history=aioxmpp.muc.xso.History(maxstanzas=history))
        self.bodies = []
        self.enter_codes = None
        self.exit_mode = None
        self.room.on_message.connect(self._on_message)
        self.room.on_muc_enter.connect(self._on_enter)
        self.room.on_exit.connect(self._on_exit)

    def _on_message(self, message, member, source, **kwargs):
        if message.body:
            self.bodies.append(message.body.any())

    def _on_enter(self, presence, occupant, *, muc_status_codes=set(), **kwargs):
        self.enter_codes = sorted(int(c) for c in muc_status_codes)

    def _on_exit(self, *, muc_leave_mode=None, **kwargs):
        self.exit_mode = muc_leave_mode

    async def entered(self):
        await asyncio.wait_for(self.joined, TIMEOUT)
        return self

    def member(self, nick):
        return next(m for m in self.room.members if m.nick == nick)


def say(occupancy, body):
    message = aioxmpp.Message(to=room_jid, type_=aioxmpp.MessageType.GROUPCHAT)
    message.body[None] = body
    occupancy.room.send_message(message)


async def listed(disco, jid):
    items = await asyncio.wait_for(disco.query_items(service_jid, require_fresh=True), TIMEOUT)
    return any(item.jid == jid for item in items.items)


async def main():
    result = {}
    step = "start"
    try:
        alice, bob_phone, bob_desk, carol = (make_client(alice_jid, alice_pw), make_client(bob_jid + "/phone", bob_pw),
                                             make_client(bob_jid + "/desk", bob_pw), make_client(carol_jid, carol_pw))
        async with alice.connected(), bob_phone.connected(), bob_desk.connected(), carol.connected():
            disco = alice.summon(aioxmpp.DiscoClient)

            step = "create and configure"
            alice_in = await Occupancy(alice, room_jid, "Alice").entered()
            result["created_codes"] = alice_in.enter_codes
            form = aioxmpp.muc.ConfigurationForm.from_xso(await asyncio.wait_for(alice_in.muc.get_room_config(room_jid), TIMEOUT))
            form.persistentroom.value = True
            form.roomname.value = "Project room"
            await asyncio.wait_for(alice_in.muc.set_room_config(room_jid, form.render_reply()), TIMEOUT)
            info = await asyncio.wait_for(disco.query_info(room_jid, require_fresh=True), TIMEOUT)
            result["features"] = sorted(f for f in info.features if f.startswith("muc_"))
            result["name"] = next(iter(info.identities)).name

            step = "join from two devices"
            phone_in = await Occupancy(bob_phone, room_jid, "Bob").entered()
            desk_in = await Occupancy(bob_desk, room_jid, "Bob").entered()
            result["second_device_codes"] = desk_in.enter_codes
            carol_in = await Occupancy(carol, room_jid, "Carol").entered()
            result["nicks_seen_by_alice"] = sorted(m.nick for m in alice_in.room.members)

            step = "exchange messages"
            say(alice_in, "hello team")
            await wait_until(lambda: "hello team" in phone_in.bodies and "hello team" in desk_in.bodies and "hello team" in carol_in.bodies,
                             "Alice's message on both of Bob's devices and Carol's")
            say(desk_in, "hi from the desk")
            await wait_until(lambda: "hi from the desk" in alice_in.bodies and "hi from the desk" in phone_in.bodies,
                             "Bob's message at Alice and on his other device")
            result["talked"] = True

            step = "revoke voice"
            await asyncio.wait_for(alice_in.room.muc_set_role("Carol", "visitor", reason="Quiet please"), TIMEOUT)
            await wait_until(lambda: carol_in.room.me is not None and carol_in.room.me.role == "visitor", "Carol to see her voice revoked")
            result["carol_role"] = carol_in.room.me.role

            step = "kick"
            await asyncio.wait_for(alice_in.room.kick(alice_in.member("Carol"), "Off topic"), TIMEOUT)
            await wait_until(lambda: carol_in.exit_mode is not None, "Carol to be removed")
            result["carol_exit"] = carol_in.exit_mode.name
            await wait_until(lambda: all(m.nick != "Carol" for m in alice_in.room.members), "Carol gone from Alice's occupant list")

            step = "make Bob an admin"
            await asyncio.wait_for(alice_in.room.muc_set_affiliation(aioxmpp.JID.fromstr(bob_jid), "admin", reason="Co-host"), TIMEOUT)
            await wait_until(lambda: desk_in.room.me.affiliation == "admin" and phone_in.room.me.affiliation == "admin",
                             "both of Bob's devices to see him an admin")
            result["bob_affiliation"] = desk_in.room.me.affiliation

            step = "one device leaves"
            await asyncio.wait_for(phone_in.room.leave(), TIMEOUT)
            say(alice_in, "after the phone left")
            await wait_until(lambda: "after the phone left" in desk_in.bodies, "the message on the remaining device")
            result["phone_got_it_too"] = "after the phone left" in phone_in.bodies

            step = "ad hoc room"
            carol_adhoc = await Occupancy(carol, adhoc_jid, "Carol").entered()
            adhoc_form = aioxmpp.muc.ConfigurationForm.from_xso(await asyncio.wait_for(carol_adhoc.muc.get_room_config(adhoc_jid), TIMEOUT))
            await asyncio.wait_for(carol_adhoc.muc.set_room_config(adhoc_jid, adhoc_form.render_reply()), TIMEOUT)
            result["adhoc_created_codes"] = carol_adhoc.enter_codes
            result["adhoc_listed_while_occupied"] = await listed(disco, adhoc_jid)
            await asyncio.wait_for(carol_adhoc.room.leave(), TIMEOUT)
            result["adhoc_listed_after_leaving"] = await listed(disco, adhoc_jid)
            try:
                await asyncio.wait_for(disco.query_info(adhoc_jid, require_fresh=True), TIMEOUT)
                result["adhoc_info_after_leaving"] = "exists"
            except aioxmpp.errors.XMPPError as e:
                result["adhoc_info_after_leaving"] = e.condition.value[1]
            alice_adhoc = await Occupancy(alice, adhoc_jid, "Alice").entered()
            result["adhoc_rejoin_codes"] = alice_adhoc.enter_codes
            await asyncio.wait_for(alice_adhoc.room.leave(), TIMEOUT)

            step = "leave"
            await asyncio.wait_for(desk_in.room.leave(), TIMEOUT)
            await asyncio.wait_for(alice_in.room.leave(), TIMEOUT)
            result["persistent_listed_when_empty"] = await listed(disco, room_jid)
        ok = True
    except Exception as e:
        result["error"] = f"step '{step}': {type(e).__name__}: {e}"
        ok = False
    report(result, ok)


asyncio.get_event_loop().run_until_complete(main())
