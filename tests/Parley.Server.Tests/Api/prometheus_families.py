"""Reads a /metrics scrape on stdin with Debian's prometheus_client parser; prints each family's samples summed, as JSON."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

sums = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    sums[family.name] = sum(s.value for s in family.samples if not s.name.endswith(("_bucket", "_created")))
print(json.dumps(sums))
