"""Two slixmpp clients log in to Parley and exchange a chat message each way.

Usage: slixmpp_chat.py HOST PORT starttls|directtls MECHANISM JID1 PASSWORD1 JID2 PASSWORD2
Prints one JSON line with what happened; exits 0 only if both messages arrived.
"""
import asyncio
import json
import ssl
import sys

import slixmpp

host, port, mode, mechanism, jid1, pw1, jid2, pw2 = sys.argv[1:9]
port = int(port)
TIMEOUT = 20


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password, sasl_mech=mechanism)
        # The node's certificate is self-signed; the test is about XMPP, not the PKI.
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.ready = asyncio.get_event_loop().create_future()
        self.received = asyncio.get_event_loop().create_future()
        self.mechanism_used = None
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("failed_auth", lambda _: self.fail("authentication failed"))
        self.add_event_handler("auth_success", self.on_auth)

    def fail(self, why):
        if not self.ready.done():
            self.ready.set_exception(RuntimeError(why))

    def on_auth(self, _):
        self.mechanism_used = self["feature_mechanisms"].mech.name

    async def on_start(self, _):
        self.send_presence()
        await self.get_roster()
        if not self.ready.done():
            self.ready.set_result(str(self.boundjid))

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal") and not self.received.done():
            self.received.set_result({"from": str(msg["from"]), "body": msg["body"]})

    def start(self):
        if mode == "directtls":
            self.enable_direct_tls = True
            self.connect((host, port), use_ssl=True)
        else:
            self.connect((host, port), force_starttls=True)


async def main():
    a, b = Client(jid1, pw1), Client(jid2, pw2)
    a.start()
    b.start()
    result = {}
    try:
        result["jid1"] = await asyncio.wait_for(a.ready, TIMEOUT)
        result["jid2"] = await asyncio.wait_for(b.ready, TIMEOUT)
        result["mechanisms"] = [a.mechanism_used, b.mechanism_used]
        result["tls"] = [a.transport.get_extra_info("ssl_object").version(), b.transport.get_extra_info("ssl_object").version()]
        a.send_message(mto=result["jid2"], mbody="hello from one", mtype="chat")
        result["received_by_2"] = await asyncio.wait_for(b.received, TIMEOUT)
        b.send_message(mto=jid1, mbody="hello back", mtype="chat")
        result["received_by_1"] = await asyncio.wait_for(a.received, TIMEOUT)
        ok = True
    except Exception as e:  # report what failed, for the test's message
        result["error"] = f"{type(e).__name__}: {e}"
        ok = False
    finally:
        a.disconnect()
        b.disconnect()
        await asyncio.sleep(0)
    print(json.dumps(result), flush=True)
    sys.exit(0 if ok else 1)


asyncio.get_event_loop().run_until_complete(main())
