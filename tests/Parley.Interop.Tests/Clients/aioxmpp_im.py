"""RFC 6121 with python3-aioxmpp against Parley: subscribe and approve, presence change,
chat, offline delivery at the next login.

Usage: aioxmpp_im.py HOST PORT CAROL_JID CAROL_PW DAVE_JID DAVE_PW
"""
import asyncio
import sys

import aioxmpp
import aioxmpp.connector
import aioxmpp.dispatcher

from interop_common import wait_until, report

host, port, carol_jid, carol_pw, dave_jid, dave_pw = sys.argv[1:7]
port = int(port)


def make_client(jid, password):
    client = aioxmpp.PresenceManagedClient(
        aioxmpp.JID.fromstr(jid),
        # The node's certificate is self-signed; the test is about XMPP, not the PKI.
        aioxmpp.make_security_layer(password, no_verify=True),
        override_peer=[(host, port, aioxmpp.connector.STARTTLSConnector())],
    )
    seen = {"messages": [], "presence": [], "requests": []}
    dispatcher = client.summon(aioxmpp.dispatcher.SimpleMessageDispatcher)
    dispatcher.register_callback(
        aioxmpp.MessageType.CHAT, None,
        lambda msg: seen["messages"].append({"from": str(msg.from_.bare()), "body": msg.body.any(), "delayed": msg.xep0203_delay is not None}))
    presence = client.summon(aioxmpp.PresenceClient)
    presence.on_available.connect(lambda jid, stanza: seen["presence"].append((str(jid), "available", stanza.show.value)))
    presence.on_changed.connect(lambda jid, stanza: seen["presence"].append((str(jid), "changed", stanza.show.value)))
    presence.on_bare_unavailable.connect(lambda stanza: seen["presence"].append((str(stanza.from_.bare()), "unavailable", None)))
    roster = client.summon(aioxmpp.RosterClient)
    roster.on_subscribe.connect(lambda stanza: seen["requests"].append(str(stanza.from_.bare())))
    return client, roster, seen


def send_chat(client, to, body):
    message = aioxmpp.Message(to=aioxmpp.JID.fromstr(to), type_=aioxmpp.MessageType.CHAT)
    message.body[None] = body
    return client.send(message)


async def main():
    result = {}
    step = "start"
    try:
        carol, carol_roster, carol_seen = make_client(carol_jid, carol_pw)
        dave, dave_roster, dave_seen = make_client(dave_jid, dave_pw)
        carol.presence = aioxmpp.PresenceState(True)
        dave.presence = aioxmpp.PresenceState(True)
        async with carol.connected(), dave.connected():
            step = "subscribe and approve"
            carol_roster.subscribe(aioxmpp.JID.fromstr(dave_jid))
            await wait_until(lambda: carol_jid in dave_seen["requests"], "Dave to see Carol's request")
            dave_roster.approve(aioxmpp.JID.fromstr(carol_jid))
            await wait_until(lambda: aioxmpp.JID.fromstr(dave_jid) in carol_roster.items
                             and carol_roster.items[aioxmpp.JID.fromstr(dave_jid)].subscription == "to", "Carol's roster to show 'to'")
            result["subscription"] = carol_roster.items[aioxmpp.JID.fromstr(dave_jid)].subscription

            step = "presence change"
            dave.set_presence(aioxmpp.PresenceState(True, aioxmpp.PresenceShow.DND), "presenting")
            await wait_until(lambda: any(p[2] == "dnd" for p in carol_seen["presence"]), "Carol to see Dave busy")

            step = "chat"
            await send_chat(carol, dave_jid, "good luck")
            await wait_until(lambda: any(m["body"] == "good luck" for m in dave_seen["messages"]), "Dave to get the chat")

        step = "offline message"
        dave, _, dave_seen = make_client(dave_jid, dave_pw)
        carol, _, carol_seen = make_client(carol_jid, carol_pw)
        carol.presence = aioxmpp.PresenceState(True)
        async with carol.connected():
            await send_chat(carol, dave_jid, "call me when you are back")
            dave.presence = aioxmpp.PresenceState(True)
            async with dave.connected():
                await wait_until(lambda: any(m["body"] == "call me when you are back" for m in dave_seen["messages"]), "Dave to get the offline message")
                result["offline"] = dave_seen["messages"][0]
        ok = True
    except Exception as e:
        result["error"] = f"step '{step}': {type(e).__name__}: {e}"
        ok = False
    report(result, ok)


asyncio.get_event_loop().run_until_complete(main())
