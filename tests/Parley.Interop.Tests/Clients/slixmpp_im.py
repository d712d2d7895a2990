"""RFC 6121 with python3-slixmpp against Parley: contacts, approval, presence, chat,
offline delivery at the next login, blocking and unblocking.

Usage: slixmpp_im.py HOST PORT ALICE_JID ALICE_PW BOB_JID BOB_PW
Prints one JSON line of what each step observed; exits 0 only if every step passed.
"""
import asyncio
import ssl
import sys

import slixmpp

from interop_common import wait_until, report

host, port, alice_jid, alice_pw, bob_jid, bob_pw = sys.argv[1:7]
port = int(port)


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, approve_automatically):
        super().__init__(jid, password, sasl_mech="SCRAM-SHA-256")
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        for plugin in ("xep_0030", "xep_0191", "xep_0199", "xep_0203"):
            self.register_plugin(plugin)
        # slixmpp: True accepts requests by itself, False refuses them by itself, None leaves them to us.
        self.roster.auto_authorize = True if approve_automatically else None
        self.roster.auto_subscribe = approve_automatically
        self.started = False
        self.messages = []
        self.errors = []
        self.requests = []
        self.statuses = []
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("presence_subscribe", lambda p: self.requests.append(str(p["from"].bare)))
        self.add_event_handler("changed_status", lambda p: self.statuses.append((str(p["from"]), p["type"], p["status"])))

    async def on_start(self, _):
        await self.get_roster()
        self.send_presence()
        self.started = True

    def on_message(self, msg):
        if msg["type"] == "error":
            self.errors.append(msg["error"]["condition"])
        elif msg["body"]:
            stamp = msg["delay"]["stamp"] if msg["delay"]["stamp"] else None
            self.messages.append({"from": str(msg["from"].bare), "body": msg["body"], "delayed": stamp is not None})

    def subscription(self, jid):
        return self.client_roster[jid]["subscription"] if jid in self.client_roster else None

    async def online(self):
        self.connect((host, port), force_starttls=True)
        await wait_until(lambda: self.started, f"{self.boundjid} to start")
        return self


async def main():
    result = {}
    step = "start"
    alice = bob = bob2 = None
    try:
        alice = await Client(alice_jid, alice_pw, approve_automatically=True).online()
        bob = await Client(bob_jid, bob_pw, approve_automatically=False).online()

        step = "add contact and ask"
        await alice.update_roster(bob_jid, name="Bob", groups=["Team"])
        alice.send_presence_subscription(pto=bob_jid)
        await wait_until(lambda: alice_jid in bob.requests, "Bob to see Alice's request")
        await wait_until(lambda: alice.client_roster[bob_jid]["pending_out"], "Alice's request to be pending")

        step = "approve both ways"
        bob.send_presence(pto=alice_jid, ptype="subscribed")
        bob.send_presence_subscription(pto=alice_jid)
        await wait_until(lambda: alice.subscription(bob_jid) == "both", "Alice's roster to show both")
        await wait_until(lambda: bob.subscription(alice_jid) == "both", "Bob's roster to show both")
        result["roster"] = {"alice": alice.subscription(bob_jid), "bob": bob.subscription(alice_jid), "name": alice.client_roster[bob_jid]["name"], "groups": alice.client_roster[bob_jid]["groups"]}

        step = "presence change"
        bob.send_presence(pshow="away", pstatus="in a meeting")
        await wait_until(lambda: any(s[2] == "in a meeting" for s in alice.statuses), "Alice to see Bob away")
        result["presence"] = [s for s in alice.statuses if s[2] == "in a meeting"][0]

        step = "chat"
        alice.send_message(mto=bob_jid, mbody="lunch?", mtype="chat")
        await wait_until(lambda: any(m["body"] == "lunch?" for m in bob.messages), "Bob to get the chat")

        step = "going offline"
        bob.disconnect()
        await wait_until(lambda: any(s[0].startswith(bob_jid) and s[1] == "unavailable" for s in alice.statuses), "Alice to see Bob offline")

        step = "offline messages"
        alice.send_message(mto=bob_jid, mbody="first while you were out", mtype="chat")
        alice.send_message(mto=bob_jid, mbody="second while you were out", mtype="chat")
        # The server answers a ping after it has handled what Alice sent before: both messages are stored by then.
        await alice["xep_0199"].ping(alice.boundjid.domain)
        bob2 = Client(bob_jid, bob_pw, approve_automatically=False)
        await bob2.online()
        await wait_until(lambda: len(bob2.messages) >= 2, "Bob to get both offline messages")
        result["offline"] = bob2.messages[:2]

        step = "blocking"
        await bob2["xep_0191"].block([alice_jid])
        alice.send_message(mto=bob_jid, mbody="can you hear me?", mtype="chat")
        await wait_until(lambda: len(alice.errors) >= 1, "Alice to get an error for the blocked message")
        result["blocked_error"] = alice.errors[0]

        step = "unblocking"
        await bob2["xep_0191"].unblock([alice_jid])
        alice.send_message(mto=bob_jid, mbody="and now?", mtype="chat")
        await wait_until(lambda: any(m["body"] == "and now?" for m in bob2.messages), "Bob to get the message after unblocking")
        result["received_while_blocked"] = any(m["body"] == "can you hear me?" for m in bob2.messages)
        ok = True
    except Exception as e:
        result["error"] = f"step '{step}': {type(e).__name__}: {e}"
        ok = False
    finally:
        for client in (alice, bob, bob2):
            if client is not None:
                client.disconnect()
        await asyncio.sleep(0)
    report(result, ok)


asyncio.get_event_loop().run_until_complete(main())
