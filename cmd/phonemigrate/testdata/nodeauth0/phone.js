// node phone.js reads the phone areas of a tenant with node-auth0 (the npm
// package auth0, version locked in package-lock.json) and prints a JSON
// summary. The tenant: AUTH0_DOMAIN and AUTH0_TOKEN (node-auth0 always
// calls https://{domain}/api/v2; against 'phonemigrate fake --tls' set
// NODE_EXTRA_CA_CERTS as it prints). Every call is one the phone
// migration's areas have; a failing call is reported by status, not thrown.
'use strict';
const { ManagementClient } = require('auth0');

const client = new ManagementClient({ domain: process.env.AUTH0_DOMAIN, token: process.env.AUTH0_TOKEN });

async function call(fn) {
  try {
    return { value: await fn() };
  } catch (err) {
    return { status: err.statusCode || 0, error: String((err && err.message) || err).slice(0, 200) };
  }
}

async function main() {
  const out = {};
  const settings = await client.tenants.settings.get();
  out.phone_consolidated_experience = settings.phone_consolidated_experience === true;
  const conns = await client.connections.list({ strategy: ['sms'] });
  out.sms_connections = [];
  for (const c of conns.data) {
    const full = await client.connections.get(c.id);
    out.sms_connections.push({ name: full.name, provider: full.options.provider || null, use_phone_provider: full.options.use_phone_provider === true });
  }
  const providers = await client.branding.phone.providers.list();
  out.providers = (providers.providers || []).map((p) => ({ name: p.name, delivery_methods: p.configuration.delivery_methods }));
  const templates = await client.branding.phone.templates.list();
  out.templates = (templates.templates || []).map((t) => t.type + (t.id ? '' : ' (default)')).sort();
  out.factors = (await client.guardian.factors.list()).filter((f) => f.enabled).map((f) => f.name).sort();
  out.message_types = await call(async () => (await client.guardian.factors.phone.getMessageTypes()).message_types);
  out.phone_settings = await call(() => client.guardian.factors.phone.get());
  out.selected_provider = await call(async () => (await client.guardian.factors.phone.getSelectedProvider()).provider);
  const actions = await client.actions.list({ triggerId: 'custom-phone-provider' });
  out.actions = [];
  for (const a of actions.data) {
    const versions = await client.actions.versions.list(a.id);
    out.actions.push({ name: a.name, status: a.status, deployed_versions: versions.data.filter((v) => v.deployed).length });
  }
  const bindings = await client.actions.triggers.bindings.list('custom-phone-provider');
  out.bindings = bindings.data.map((b) => b.display_name);
  const grants = await client.clientGrants.list();
  out.grants_with_guardian_scope = grants.data.filter((g) => (g.scope || []).some((s) => s.endsWith(':guardian_factors'))).length;
  const logs = await client.logs.list({ q: 'type:"sapi"', per_page: 5 });
  out.sapi_logs = logs.data.length;
  if (logs.data.length > 0) {
    const one = await client.logs.get(logs.data[0].log_id);
    out.log_get = { type: one.type, same_id: one.log_id === logs.data[0].log_id };
  }
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

main().catch((err) => {
  console.error(String((err && err.stack) || err));
  process.exit(1);
});
