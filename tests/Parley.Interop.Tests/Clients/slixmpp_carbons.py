"""Message Carbons (XEP-0280) with python3-slixmpp's xep_0280 plugin against Parley: Romeo on two
devices that enable carbons, and Juliet. Her messages show on both of his devices (to his bare JID:
the higher priority gets the message, the other a carbon; to one device: the other gets a carbon);
what one device sends shows on the other; a private message does not.

Usage: slixmpp_carbons.py HOST PORT ROMEO_JID ROMEO_PW JULIET_JID JULIET_PW
Prints one JSON line of what each step observed; exits 0 only if every step passed.
"""
import asyncio
import ssl
import sys

import slixmpp

from interop_common import wait_until, report

host, port, romeo_jid, romeo_pw, juliet_jid, juliet_pw = sys.argv[1:7]
port = int(port)


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, priority, carbons):
        super().__init__(jid, password, sasl_mech="SCRAM-SHA-256")
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        for plugin in ("xep_0030", "xep_0280"):
            self.register_plugin(plugin)
        self.priority = priority
        self.carbons = carbons
        self.started = False
        self.messages = []
        self.received_carbons = []
        self.sent_carbons = []
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("carbon_received", lambda m: self.received_carbons.append(summary(m["carbon_received"])))
        self.add_event_handler("carbon_sent", lambda m: self.sent_carbons.append(summary(m["carbon_sent"])))

    async def on_start(self, _):
        if self.carbons:
            await self["xep_0280"].enable()
        self.send_presence(ppriority=self.priority)
        self.started = True

    def on_message(self, msg):
        # Carbon wrappers carry no body of their own; the plugin reports them as carbon events.
        if msg["body"]:
            self.messages.append(summary(msg))

    async def online(self):
        self.connect((host, port), force_starttls=True)
        await wait_until(lambda: self.started, f"{self.boundjid} to start")
        return self


def summary(msg):
    return {"from": str(msg["from"]), "to": str(msg["to"]), "body": msg["body"]}


async def main():
    result = {}
    step = "start"
    desk = phone = juliet = None
    try:
        desk = await Client(romeo_jid + "/desk", romeo_pw, priority=5, carbons=True).online()
        phone = await Client(romeo_jid + "/phone", romeo_pw, priority=1, carbons=True).online()
        juliet = await Client(juliet_jid + "/balcony", juliet_pw, priority=0, carbons=False).online()

        step = "discover carbons"
        info = await desk["xep_0030"].get_info(jid=desk.boundjid.domain)
        result["advertised"] = "urn:xmpp:carbons:2" in info["disco_info"]["features"]

        step = "message to the bare JID"
        juliet.send_message(mto=romeo_jid, mbody="to the bare JID", mtype="chat")
        await wait_until(lambda: any(m["body"] == "to the bare JID" for m in desk.messages), "the desk to get the message")
        await wait_until(lambda: any(c["body"] == "to the bare JID" for c in phone.received_carbons), "the phone to get a carbon")
        result["bare"] = {
            "phone_carbon": next(c for c in phone.received_carbons if c["body"] == "to the bare JID"),
            "phone_got_original": any(m["body"] == "to the bare JID" for m in phone.messages),
        }

        step = "message to one device"
        juliet.send_message(mto=phone.boundjid, mbody="to the phone", mtype="chat")
        await wait_until(lambda: any(m["body"] == "to the phone" for m in phone.messages), "the phone to get the message")
        await wait_until(lambda: any(c["body"] == "to the phone" for c in desk.received_carbons), "the desk to get a carbon")
        result["full"] = next(c for c in desk.received_carbons if c["body"] == "to the phone")

        step = "private message, then one to copy"
        private = desk.make_message(mto=juliet_jid, mbody="just between us", mtype="chat")
        private.enable("carbon_private")
        private.send()
        desk.send_message(mto=juliet_jid, mbody="sent from the desk", mtype="chat")
        await wait_until(lambda: any(m["body"] == "sent from the desk" for m in juliet.messages), "Juliet to get the desk's message")
        await wait_until(lambda: any(c["body"] == "sent from the desk" for c in phone.sent_carbons), "the phone to get a sent carbon")
        result["sent"] = next(c for c in phone.sent_carbons if c["body"] == "sent from the desk")
        result["private_copied"] = any(c["body"] == "just between us" for c in phone.sent_carbons)
        result["private_delivered"] = any(m["body"] == "just between us" for m in juliet.messages)
        ok = True
    except Exception as e:
        result["error"] = f"step '{step}': {type(e).__name__}: {e}"
        ok = False
    finally:
        for client in (desk, phone, juliet):
            if client is not None:
                client.disconnect()
        await asyncio.sleep(0)
    report(result, ok)


asyncio.get_event_loop().run_until_complete(main())
