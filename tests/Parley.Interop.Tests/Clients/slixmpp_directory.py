"""A directory user's day with slixmpp: sign in with the directory password, see the directory group's colleagues
on the roster with their presence, find a colleague with XEP-0055 search, read a colleague's vCard photo; then,
after the test removed the user from the directory and synced, the session has ended and signing in fails.

Usage: slixmpp_directory.py HOST PORT JID PASSWORD COLLEAGUE_JID COLLEAGUE_PASSWORD SEARCH_TEXT
Prints a JSON line {"phase": "signed-in", ...} once the first part is done (the test then removes the user),
and a last JSON line with everything; exits 0 only if every step worked.
"""
import asyncio
import hashlib
import base64
import json
import ssl
import sys
import xml.etree.ElementTree as ET

import slixmpp

from interop_common import TIMEOUT, wait_until, report

host, port, jid, password, colleague_jid, colleague_password, search_text = sys.argv[1:8]
port = int(port)
SEARCH = "jabber:iq:search"
DATA = "jabber:x:data"
VCARD = "vcard-temp"


class Client(slixmpp.ClientXMPP):
    def __init__(self, user, pw):
        super().__init__(user, pw)
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.started = False
        self.auth_failed = False
        self.ended = False
        self.mechanism = None
        self.available = set()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("failed_auth", self.on_failed)
        self.add_event_handler("auth_success", lambda _: setattr(self, "mechanism", self["feature_mechanisms"].mech.name))
        self.add_event_handler("disconnected", lambda _: setattr(self, "ended", True))
        self.add_event_handler("presence_available", lambda p: self.available.add(p["from"].bare))

    def on_failed(self, _):
        self.auth_failed = True

    async def on_start(self, _):
        await self.get_roster()
        self.send_presence()
        self.started = True

    def start(self):
        self.connect((host, port), force_starttls=True)


async def search(client, text):
    iq = client.Iq()
    iq["type"] = "set"
    iq["to"] = "search.localhost"
    iq.append(ET.fromstring(
        f"<query xmlns='{SEARCH}'><x xmlns='{DATA}' type='submit'>"
        f"<field var='FORM_TYPE'><value>{SEARCH}</value></field><field var='search'><value>{text}</value></field></x></query>"))
    answer = await iq.send(timeout=TIMEOUT)
    items = answer.xml.findall(f"{{{SEARCH}}}query/{{{DATA}}}x/{{{DATA}}}item")
    return [field.findtext(f"{{{DATA}}}value") for item in items for field in item.findall(f"{{{DATA}}}field") if field.get("var") == "jid"]


async def vcard_photo(client, of):
    iq = client.Iq()
    iq["type"] = "get"
    iq["to"] = of
    iq.append(ET.fromstring(f"<vCard xmlns='{VCARD}'/>"))
    answer = await iq.send(timeout=TIMEOUT)
    binval = answer.xml.findtext(f"{{{VCARD}}}vCard/{{{VCARD}}}PHOTO/{{{VCARD}}}BINVAL")
    name = answer.xml.findtext(f"{{{VCARD}}}vCard/{{{VCARD}}}FN")
    return name, hashlib.sha1(base64.b64decode(binval)).hexdigest() if binval else None


async def main():
    result = {}
    colleague = Client(colleague_jid, colleague_password)
    user = Client(jid, password)
    ok = False
    try:
        colleague.start()
        await wait_until(lambda: colleague.started or colleague.auth_failed, "the colleague's sign-in")
        user.start()
        await wait_until(lambda: user.started or user.auth_failed, "the user's sign-in")
        result["mechanism"] = user.mechanism
        result["signed_in"] = user.started
        roster = user.client_roster
        result["roster"] = {c: {"subscription": roster[c]["subscription"], "groups": roster[c]["groups"], "name": roster[c]["name"]}
                            for c in roster if c != user.boundjid.bare}
        await wait_until(lambda: colleague_jid.split("/")[0] in user.available, "the colleague's presence")
        result["colleague_online"] = True
        result["found"] = await search(user, search_text)
        result["vcard_name"], result["vcard_photo_sha1"] = await vcard_photo(user, colleague_jid.split("/")[0])
        print(json.dumps({"phase": "signed-in", **result}), flush=True)

        # The test now removes the user from the directory and syncs: the session must end.
        await wait_until(lambda: user.ended, "the session's end", timeout=60)
        result["session_ended"] = True
        again = Client(jid, password)
        again.start()
        await wait_until(lambda: again.started or again.auth_failed, "the second sign-in")
        result["signed_in_again"] = again.started
        again.disconnect()
        ok = not again.started
    except Exception as e:  # report what failed, for the test's message
        result["error"] = f"{type(e).__name__}: {e}"
    finally:
        user.disconnect()
        colleague.disconnect()
        await asyncio.sleep(0)
    report(result, ok)


asyncio.get_event_loop().run_until_complete(main())
