"""A slixmpp receiver logs in, then Debian's go-sendxmpp sends it a message.

Usage: gosendxmpp_to_slixmpp.py HOST PORT starttls|directtls SENDER_JID SENDER_PASSWORD RECEIVER_JID RECEIVER_PASSWORD BODY
Prints one JSON line with what happened; exits 0 only if go-sendxmpp succeeded and the message arrived.
"""
import asyncio
import os
import ssl
import sys
import tempfile

import slixmpp

from interop_common import TIMEOUT, report

host, port, mode, sender, sender_pw, receiver, receiver_pw, body = sys.argv[1:9]


class Receiver(slixmpp.ClientXMPP):
    def __init__(self):
        super().__init__(receiver, receiver_pw)
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        loop = asyncio.get_event_loop()
        self.ready = loop.create_future()
        self.received = loop.create_future()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)

    async def on_start(self, _):
        self.send_presence()
        await self.get_roster()
        if not self.ready.done():
            self.ready.set_result(True)

    def on_message(self, msg):
        if msg["body"] == body and not self.received.done():
            self.received.set_result({"from": str(msg["from"]), "body": msg["body"]})


async def send_with_go_sendxmpp():
    arguments = ["-u", sender, "-p", sender_pw, "-j", f"{host}:{port}", "--no-tls-verify"]
    if mode == "directtls":
        arguments.append("--tls")
    # Its own HOME, so that no configuration file of the machine's user is read.
    with tempfile.TemporaryDirectory() as home:
        process = await asyncio.create_subprocess_exec(
            "/usr/bin/go-sendxmpp", *arguments, receiver.split("/")[0],
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "HOME": home})
        output, _ = await asyncio.wait_for(process.communicate((body + "\n").encode()), TIMEOUT)
    return process.returncode, output.decode(errors="replace")


async def main():
    client = Receiver()
    if mode == "directtls":
        client.enable_direct_tls = True
        client.connect((host, int(port)), use_ssl=True)
    else:
        client.connect((host, int(port)), force_starttls=True)
    result = {}
    ok = False
    try:
        await asyncio.wait_for(client.ready, TIMEOUT)
        result["sender_exit"], result["sender_output"] = await send_with_go_sendxmpp()
        result["received"] = await asyncio.wait_for(client.received, TIMEOUT)
        ok = result["sender_exit"] == 0
    except Exception as e:  # report what failed, for the test's message
        result["error"] = f"{type(e).__name__}: {e}"
    finally:
        client.disconnect()
        await asyncio.sleep(0)
    report(result, ok)


asyncio.get_event_loop().run_until_complete(main())
