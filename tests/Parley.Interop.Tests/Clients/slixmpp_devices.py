"""Every device in sync, nothing lost, with python3-slixmpp against Parley: carbons (xep_0280), the
message archive (xep_0313 with RSM paging), stream management with resumption (xep_0198), delayed
delivery (xep_0203) and stanza ids (xep_0359).

Scenario 'sync': Romeo on a desk and a phone (both with carbons), Juliet on her balcony. Their
conversation shows on both of Romeo's devices; a tablet that logs in later pulls all of it from the
archive, page by page; then the phone's TCP connection is cut mid-conversation while Juliet keeps
writing, the phone connects again and resumes its session, and has every message exactly once.

Scenario 'lost': Romeo's only device (with stream management and resumption) is cut and does not
come back. The node must run with a short resume timeout. When Juliet sees him go offline, the
messages he missed wait in offline storage (delivered with a delay stamp at his next login) and in
his archive.

Usage: slixmpp_devices.py HOST PORT ROMEO_JID ROMEO_PW JULIET_JID JULIET_PW sync|lost
Prints one JSON line of what each step observed; exits 0 only if every step ran to the end.
"""
import asyncio
import datetime
import ssl
import sys

import slixmpp

from interop_common import wait_until, report

host, port, romeo_jid, romeo_pw, juliet_jid, juliet_pw, scenario = sys.argv[1:8]
port = int(port)


class Device(slixmpp.ClientXMPP):
    """One client; 'seen' is the conversation as this device shows it, in the order it learnt of each message."""

    def __init__(self, jid, password, priority=0, carbons=False, resumable=False, contacts=False):
        super().__init__(jid, password, sasl_mech="SCRAM-SHA-256")
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        plugins = ["xep_0030", "xep_0203", "xep_0313", "xep_0359"]
        if carbons:
            plugins.append("xep_0280")
        if resumable:
            # Registering the plugin is what makes slixmpp enable stream management (with resume) after bind.
            plugins.append("xep_0198")
        for plugin in plugins:
            self.register_plugin(plugin)
        self.roster.auto_authorize = contacts
        self.roster.auto_subscribe = contacts
        self.priority = priority
        self.carbons = carbons
        self.started = False
        self.sessions_started = 0
        self.sm_enabled = None
        self.resumptions = 0
        self.seen = []
        self.errors = []
        self.available_from = []
        self.unavailable_from = []
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("carbon_received", lambda m: self.record(m["carbon_received"], "carbon-received"))
        self.add_event_handler("carbon_sent", lambda m: self.record(m["carbon_sent"], "carbon-sent"))
        self.add_event_handler("sm_enabled", self.on_sm_enabled)
        self.add_event_handler("session_resumed", self.on_resumed)
        self.add_event_handler("presence_available", lambda p: self.available_from.append(str(p["from"])))
        self.add_event_handler("presence_unavailable", lambda p: self.unavailable_from.append(str(p["from"])))

    async def on_start(self, _):
        await self.get_roster()
        if self.carbons:
            await self["xep_0280"].enable()
        self.send_presence(ppriority=self.priority)
        self.sessions_started += 1
        self.started = True

    def on_sm_enabled(self, enabled):
        self.sm_enabled = {"id": enabled["id"], "resume": enabled["resume"]}

    def on_resumed(self, _):
        self.resumptions += 1

    def on_message(self, msg):
        if msg["type"] == "error":
            self.errors.append(msg["error"]["condition"])
        # Carbon wrappers and archive results carry no body of their own; they are recorded by their own events.
        elif msg["body"]:
            self.record(msg, "received")

    def record(self, msg, how):
        stamp = msg["delay"]["stamp"]
        self.seen.append({
            "body": msg["body"],
            "how": how,
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "delay": stamp.isoformat() if stamp else None,
            "stanza_id": msg["stanza_id"]["id"] or None,
        })

    def say(self, to, body):
        self.send_message(mto=to, mbody=body, mtype="chat")
        self.seen.append({"body": body, "how": "sent-here", "from": str(self.boundjid), "to": str(to), "delay": None, "stanza_id": None})

    def bodies(self, prefix=""):
        return [m["body"] for m in self.seen if m["body"].startswith(prefix)]

    def has(self, body):
        return body in self.bodies()

    async def online(self):
        self.connect((host, port), force_starttls=True)
        await wait_until(lambda: self.started, f"{self.boundjid} to start")
        return self

    def cut(self):
        """Drops the TCP connection as a lost network would: no closing stream tag, no TLS close."""
        self.transport.abort()

    async def archive_with(self, peer, page_size):
        """The whole conversation with peer from this account's archive, forwards, page_size per page."""
        pages = []
        query = self["xep_0313"].retrieve(with_jid=slixmpp.JID(peer), iterator=True, rsm={"max": page_size})
        async for page in query:
            pages.append({
                "complete": page["mam_fin"].xml.get("complete"),
                "messages": [archived(result) for result in page["mam"]["results"]],
            })
        return pages


def archived(result):
    forwarded = result["mam_result"]["forwarded"]
    inner = forwarded["stanza"]
    return {
        "id": result["mam_result"]["id"],
        "from": str(inner["from"].bare),
        "to": str(inner["to"].bare),
        "body": inner["body"],
        "stamp": forwarded["delay"]["stamp"].isoformat() if forwarded["delay"]["stamp"] else None,
    }


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


async def sync():
    result = {}
    step = "start"
    clients = []
    try:
        desk = await Device(romeo_jid + "/desk", romeo_pw, priority=5, carbons=True).online()
        clients.append(desk)
        phone = await Device(romeo_jid + "/phone", romeo_pw, priority=1, carbons=True, resumable=True).online()
        clients.append(phone)
        juliet = await Device(juliet_jid + "/balcony", juliet_pw).online()
        clients.append(juliet)
        result["phone_sm"] = phone.sm_enabled

        step = "conversation on two devices"
        # Each line waits until both of Romeo's devices and Juliet show it, so every device sees one order.
        conversation = [
            (juliet, romeo_jid, "Romeo, are you there?"),
            (desk, juliet_jid, "Yes, at my desk."),
            (juliet, str(phone.boundjid), "Call me from your phone."),
            (phone, juliet_jid, "Calling from my phone."),
            (juliet, romeo_jid, "Bring the book."),
            (desk, juliet_jid, "I will."),
            (juliet, romeo_jid, "See you at noon."),
        ]
        for sender, to, body in conversation:
            sender.say(to, body)
            for device in (desk, phone, juliet):
                await wait_until(lambda: device.has(body), f"{device.boundjid} to show '{body}'")
        result["conversation"] = [body for _, _, body in conversation]
        result["desk"] = list(desk.seen)
        result["phone"] = list(phone.seen)
        result["juliet"] = juliet.bodies()

        step = "a third device reads the archive"
        tablet = await Device(romeo_jid + "/tablet", romeo_pw).online()
        clients.append(tablet)
        result["tablet_pages"] = await tablet.archive_with(juliet_jid, page_size=3)

        step = "the phone's connection is cut mid-conversation"
        juliet.say(romeo_jid, "c01")
        juliet.say(str(phone.boundjid), "c02")
        await wait_until(lambda: phone.has("c02"), "the phone to show c02")
        # In flight while the connection goes: sent before the cut, maybe read by the phone, maybe not.
        juliet.say(romeo_jid, "c03")
        juliet.say(str(phone.boundjid), "c04")
        phone.cut()
        juliet.say(romeo_jid, "c05")
        juliet.say(str(phone.boundjid), "c06")
        await wait_until(lambda: phone.transport is None, "the phone to notice its connection is gone")
        juliet.say(romeo_jid, "c07")
        juliet.say(str(phone.boundjid), "c08")

        step = "the phone comes back and resumes"
        phone.connect((host, port), force_starttls=True)
        juliet.say(str(phone.boundjid), "c09")
        await wait_until(lambda: phone.resumptions == 1, "the phone to resume its session")
        juliet.say(romeo_jid, "c10")
        juliet.say(str(phone.boundjid), "c11")
        # Stanzas arrive in order, so once c11 is there any copy sent again of an earlier one is there too.
        await wait_until(lambda: phone.has("c11"), "the phone to show c11")
        await wait_until(lambda: desk.has("c11"), "the desk to show c11")
        result["resume"] = {
            "sent": [f"c{i:02}" for i in range(1, 12)],
            "phone": phone.bodies("c"),
            "desk": desk.bodies("c"),
            "phone_sessions_started": phone.sessions_started,
            "resumptions": phone.resumptions,
        }
        ok = True
    except Exception as e:
        result["error"] = f"step '{step}': {type(e).__name__}: {e}"
        ok = False
    finally:
        for client in clients:
            client.disconnect()
        await asyncio.sleep(0)
    return result, ok


async def lost():
    result = {}
    step = "start"
    clients = []
    try:
        phone = await Device(romeo_jid + "/phone", romeo_pw, carbons=True, resumable=True, contacts=True).online()
        clients.append(phone)
        juliet = await Device(juliet_jid + "/balcony", juliet_pw, contacts=True).online()
        clients.append(juliet)
        result["phone_sm"] = phone.sm_enabled

        step = "Romeo and Juliet become contacts"
        # So that Juliet sees when Romeo's session ends for good.
        phone.send_presence_subscription(pto=juliet_jid)
        await wait_until(lambda: juliet_jid in phone.client_roster and phone.client_roster[juliet_jid]["subscription"] == "both", "Romeo's roster to show both")
        await wait_until(lambda: str(phone.boundjid) in juliet.available_from, "Juliet to see Romeo online")

        step = "a message the phone reads and acknowledges"
        juliet.say(romeo_jid, "before the cut")
        await wait_until(lambda: phone.has("before the cut"), "the phone to show it")
        phone["xep_0198"].send_ack()
        # The server handles a stream in order: once this answer is back, it has the acknowledgement.
        await phone["xep_0030"].get_info(jid=phone.boundjid.domain)

        step = "the phone is cut and does not come back"
        phone.cut()
        missed = ["missed 1", "missed 2", "missed 3"]
        sent_at = now()
        for body in missed:
            juliet.say(romeo_jid, body)
        result["sent_at"] = sent_at
        result["sent_before_the_session_ended"] = not any(f.startswith(romeo_jid) for f in juliet.unavailable_from)
        await wait_until(lambda: any(f == str(phone.boundjid) for f in juliet.unavailable_from), "Juliet to see the phone's session end")
        result["juliet_errors"] = list(juliet.errors)

        step = "Romeo logs in again"
        desk = await Device(romeo_jid + "/desk", romeo_pw).online()
        clients.append(desk)
        await wait_until(lambda: desk.has("missed 3"), "the offline messages")
        result["logged_in_at"] = now()
        result["offline"] = list(desk.seen)

        step = "the archive"
        result["archive_pages"] = await desk.archive_with(juliet_jid, page_size=10)
        ok = True
    except Exception as e:
        result["error"] = f"step '{step}': {type(e).__name__}: {e}"
        ok = False
    finally:
        for client in clients:
            client.disconnect()
        await asyncio.sleep(0)
    return result, ok


async def main():
    result, ok = await {"sync": sync, "lost": lost}[scenario]()
    report(result, ok)


asyncio.get_event_loop().run_until_complete(main())
