// A client written for the real WhatConverts API, with only global fetch: nothing here knows
// about the sandbox but WHATCONVERTS_URL (https://app.whatconverts.com in production).
// Run with NODE_EXTRA_CA_CERTS when the URL is a `careflow up --tls` stack.
const base = process.env.WHATCONVERTS_URL ?? "https://app.whatconverts.com";
const auth =
  "Basic " +
  Buffer.from(`${process.env.WC_API_TOKEN}:${process.env.WC_API_SECRET}`).toString("base64");

const made = await fetch(`${base}/api/v1/leads`, {
  method: "POST",
  headers: { Authorization: auth, "Content-Type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ lead_type: "web_form", form_name: "Node intake" }),
});
if (!made.ok) throw new Error(`create answered ${made.status}: ${await made.text()}`);
const lead = await made.json();

const read = await fetch(`${base}/api/v1/leads/${lead.lead_id}`, {
  headers: { Authorization: auth },
});
if (!read.ok) throw new Error(`read answered ${read.status}: ${await read.text()}`);
const [again] = (await read.json()).leads;
if (again.lead_id !== lead.lead_id || again.lead_type !== "Web Form") {
  throw new Error(`read back ${JSON.stringify(again)}`);
}
console.log(JSON.stringify({ lead_id: lead.lead_id, lead_type: again.lead_type }));
