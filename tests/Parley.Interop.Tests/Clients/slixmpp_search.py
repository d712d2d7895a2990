"""Full-text search in the message archive (XEP-0431 over XEP-0313, paged with XEP-0059), with python3-slixmpp.

Romeo sends Juliet a conversation; Juliet logs in, looks for urn:xmpp:fulltext:0 in her account's disco#info and for
the {urn:xmpp:fulltext:0}fulltext field in the archive's query form (xep_0313 get_fields), then searches her archive
for a word in a different case, page by page with RSM <after/>, as Conversations does.

Usage: slixmpp_search.py HOST PORT SENDER_JID SENDER_PW SEARCHER_JID SEARCHER_PW WORD PAGE_SIZE BODY...
Prints one JSON line of what each step observed; exits 0 only if every step ran to the end.
"""
import sys

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from interop_common import accept_self_signed, run_scenario, wait_until

FULLTEXT = "{urn:xmpp:fulltext:0}fulltext"

host, port, romeo_jid, romeo_pw, juliet_jid, juliet_pw, word, page_size = sys.argv[1:9]
bodies = sys.argv[9:]
port = int(port)


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password, sasl_mech="SCRAM-SHA-256")
        accept_self_signed(self)
        for plugin in ["xep_0004", "xep_0030", "xep_0059", "xep_0297", "xep_0313"]:
            self.register_plugin(plugin)
        self.started = False
        self.received = []
        self.results = {}
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        # slixmpp's "message" event is only for messages with a <body/> of their own; archive results wrap theirs.
        self.register_handler(Callback("archive results", MatchXPath("{jabber:client}message/{urn:xmpp:mam:2}result"), self.on_result))

    async def on_start(self, _):
        await self.get_roster()
        self.send_presence()
        self.started = True

    def on_message(self, msg):
        self.received.append(msg["body"])

    def on_result(self, msg):
        queryid = msg["mam_result"]["queryid"]
        if queryid in self.results:
            self.results[queryid].append(msg["mam_result"]["forwarded"]["stanza"]["body"])

    async def online(self):
        self.connect((host, port), force_starttls=True)
        await wait_until(lambda: self.started, f"{self.boundjid} to start")
        return self

    async def search_page(self, text, after):
        """One page of a search of the own archive: the bodies found, and the answer's <fin/>."""
        iq = self.make_iq_set()
        queryid = iq["id"]
        iq["mam"]["queryid"] = queryid
        iq["mam"].set_custom_field(FULLTEXT, text)
        iq["mam"]["rsm"]["max"] = page_size
        if after:
            iq["mam"]["rsm"]["after"] = after
        self.results[queryid] = []
        answer = await iq.send()
        fin = answer["mam_fin"]
        return {
            "bodies": self.results.pop(queryid),
            "complete": fin.xml.get("complete"),
            "count": fin["rsm"]["count"],
            "last": fin["rsm"]["last"],
        }


async def search(result, clients, step):
    romeo = await Client(romeo_jid + "/garden", romeo_pw).online()
    clients.append(romeo)
    juliet = await Client(juliet_jid + "/balcony", juliet_pw).online()
    clients.append(juliet)

    step[0] = "the conversation"
    for body in bodies:
        romeo.send_message(mto=juliet_jid, mbody=body, mtype="chat")
        await wait_until(lambda: body in juliet.received, f"Juliet to receive '{body}'")

    step[0] = "what the server says it can do"
    info = await juliet["xep_0030"].get_info(jid=juliet_jid)
    result["features"] = list(info["disco_info"]["features"])
    form = await juliet["xep_0313"].get_fields()
    result["fields"] = [field["var"] for field in form["fields"]]

    step[0] = "searching page by page"
    result["pages"] = []
    after = None
    while len(result["pages"]) < 10:
        page = await juliet.search_page(word, after)
        result["pages"].append(page)
        if page["complete"] == "true" or not page["bodies"]:
            break
        after = page["last"]


run_scenario(search)
