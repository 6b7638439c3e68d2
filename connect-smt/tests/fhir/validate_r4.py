"""Validates FHIR R4 Bundles, one JSON document per line on stdin, with the fhir.resources models
(FHIR 4.0.1): element names, types, cardinalities, required elements, primitive formats.
Prints one line per document ("ok" or the errors) and exits 1 if any is invalid."""
import json
import sys

import fhir.resources
from fhir.resources.bundle import Bundle

assert fhir.resources.__fhir_version__ == "4.0.1", fhir.resources.__fhir_version__

bad = 0
for n, line in enumerate(sys.stdin, 1):
    line = line.strip()
    if not line:
        continue
    try:
        Bundle.parse_obj(json.loads(line))
        print("ok")
    except Exception as e:  # a pydantic ValidationError lists every problem
        bad += 1
        print(f"document {n}: " + str(e).replace("\n", " | "))
sys.exit(1 if bad else 0)
