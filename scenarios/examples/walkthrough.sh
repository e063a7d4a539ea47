#!/usr/bin/env bash
# The engine over HTTP, against `careflow up --info-file stack.json` running in this folder.
# Needs curl; `careflow json KEY [FILE]` reads one value of a JSON document (no jq needed).
set -euo pipefail
E=$(careflow json engine.url stack.json)                 # the engine, e.g. http://127.0.0.1:8400
curl -sS --fail-with-body -w '\n' -X POST "$E/__sandbox/reset"   # an empty engine: reruns work too

# 1. One authentication per app, with the stack's demo credentials (stored encrypted; the
#    answer never shows a secret). The names are those the example workflow uses.
authenticate() {
  curl -sS --fail-with-body -w '\n' "$E/api/authentications" -H 'content-type: application/json' \
    -d "{\"name\": \"$1\", \"app\": \"$2\", \"credentials\": $(careflow json "$2" stack.json)}"
}
authenticate wc-demo whatconverts
authenticate caspio-demo caspio
authenticate ours-demo ours

# 2. The example workflow (docs/DESIGN.md's): a new phone-call lead → a Caspio patient → an
#    Ours event. Create it, then activate it.
careflow example workflow > workflow.yaml
WF=$(curl -sS --fail-with-body "$E/api/workflows" -H 'content-type: application/yaml' \
  --data-binary @workflow.yaml | careflow json id)
curl -sS --fail-with-body -w '\n' -X POST "$E/api/workflows/$WF/activate"

# 3. A lead arrives in WhatConverts (HTTP Basic with the demo profile key, as the real API takes it).
WC=$(careflow json whatconverts.url stack.json)
curl -sS --fail-with-body -w '\n' "$WC/api/v1/leads" \
  -u "$(careflow json whatconverts.api_token stack.json):$(careflow json whatconverts.api_secret stack.json)" \
  -d profile_id=101 -d lead_type=phone_call -d contact_name='Pat Example' \
  -d email_address=pat@example.com --data-urlencode 'phone_number=+1 (312) 555-0142'

# 4. Move the shared clock past the trigger's next poll (every 60 s), let the stack finish what
#    that started (POST /__sandbox/settle: webhooks delivered, runs done), and read the run:
#    its status, then each step's (GET /api/runs shows their input, output and error too).
curl -sS --fail-with-body -w '\n' "$E/__sandbox/clock" -H 'content-type: application/json' \
  -d '{"advance_seconds": 61}'
curl -sS --fail-with-body -w '\n' -X POST "$E/__sandbox/settle"
curl -sS --fail-with-body "$E/api/runs?workflow_id=$WF&limit=1" > runs.json
careflow json items.0.status runs.json                    # Completed
for step in 0 1 2; do careflow json "items.0.steps.$step" runs.json; done
