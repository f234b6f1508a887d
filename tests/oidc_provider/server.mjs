// A real OpenID Provider for the tests: oidc-provider (the certified Node implementation) on
// a loopback port. Everything it needs comes from the JSON file named by the first argument,
// written by tests/oidc_provider.py: the issuer, the port, its private keys (the first key of
// an algorithm signs, so a rotation is a restart with a new key put first), its clients and
// its accounts. It prints "ready" once it listens.
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const settings = JSON.parse(readFileSync(process.argv[2], "utf8"));
const accounts = settings.accounts;

const provider = new Provider(settings.issuer, {
  clients: settings.clients,
  jwks: settings.jwks,
  // The ID token itself carries the claims of the granted scopes, as Auth0 or Entra ID do.
  conformIdTokenClaims: false,
  claims: {
    openid: ["sub", "amr"], // amr: how the account signed in (the sign-in form sets it)
    email: ["email", "email_verified"],
    profile: ["locale", "groups"],
  },
  scopes: ["openid", "email", "profile", "offline_access"],
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  ttl: {
    // A client may ask for short-lived ID tokens, to test expiry.
    IdToken: (ctx, token, client) => settings.idTokenTtl[client.clientId] ?? 3600,
  },
  async findAccount(ctx, sub) {
    const account = accounts[sub] ?? { email: `${sub}@example.com`, email_verified: false };
    return { accountId: sub, claims: async () => ({ sub, ...account }) };
  },
  // Every client is first-party: grant what it asks for, so no consent page is shown.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid email profile");
    await grant.save();
    return grant;
  },
  // The session cookie of the interaction must work over plain HTTP on the loopback.
  cookies: { keys: ["test-only-cookie-key"] },
});
provider.proxy = false;

// The development sign-in form, finished here rather than by oidc-provider's own handler
// only to say how the account authenticated: `amr` (RFC 8176) from the account's settings.
provider.use(async (ctx, next) => {
  if (ctx.method !== "POST" || !/^\/interaction\/[^/]+$/.test(ctx.path)) return next();
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  const form = new URLSearchParams(Buffer.concat(chunks).toString());
  if (form.get("prompt") !== "login") ctx.throw(501, "only the login prompt is used");
  const sub = form.get("login");
  ctx.respond = false;
  await provider.interactionFinished(
    ctx.req,
    ctx.res,
    { login: { accountId: sub, amr: accounts[sub]?.amr } },
    { mergeWithLastSubmission: false },
  );
});

provider.listen(settings.port, "127.0.0.1", () => {
  process.stdout.write("ready\n");
});
