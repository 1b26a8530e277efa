// A real OpenID provider for the single sign-on tests: panva's certified oidc-provider, with
// one static client, a few accounts and its development login pages (any password).
//
// usage: node provider.mjs <client_id> <client_secret> <redirect_uri>[,<redirect_uri>...]
// It listens on a free port of 127.0.0.1 and prints its issuer URL as the first line.
//
// Two accounts make the provider answer with a bad ID token, honestly signed with its own
// key: after the token endpoint has issued a token for them, the token is signed again with
// one claim changed (`aud` another client's, or `exp` a minute ago). That is what a token
// meant for another application, or one replayed late, looks like to the portal.
import http from "node:http";
import Provider from "oidc-provider";
import { SignJWT, decodeJwt, exportJWK, generateKeyPair } from "jose";

const [clientId, clientSecret, redirectUris] = process.argv.slice(2);

// login name -> claims (and the fault of its ID token, if any)
const ACCOUNTS = {
  alice: { email: "alice@example.com", email_verified: true, name: "Alice", groups: ["staff"] },
  carol: { email: "carol@example.com", email_verified: true, name: "Carol", groups: ["staff", "oncall-managers"] },
  dave: { email: "dave@example.com", email_verified: true, name: "Dave", groups: ["oncall-managers"] },
  "bob-unverified": { email: "bob@example.com", email_verified: false, name: "Bob" },
  stranger: { email: "stranger@example.com", email_verified: true, name: "Stranger" },
  "alice-elsewhere": { email: "alice@example.com", email_verified: true, fault: "audience" },
  "alice-late": { email: "alice@example.com", email_verified: true, fault: "expired" },
};

const { privateKey } = await generateKeyPair("RS256", { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: "test-key", use: "sig", alg: "RS256" };

async function spoil(idToken, fault) {
  const claims = decodeJwt(idToken);
  if (fault === "audience") claims.aud = "another-application";
  if (fault === "expired") {
    claims.iat = Math.floor(Date.now() / 1000) - 600;
    claims.exp = Math.floor(Date.now() / 1000) - 60;
  }
  return new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: signingKey.kid }).sign(privateKey);
}

const server = http.createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris.split(","),
      response_types: ["code"],
      grant_types: ["authorization_code"],
      // mozilla-django-oidc sends the secret in the form body
      token_endpoint_auth_method: "client_secret_post",
    },
  ],
  jwks: { keys: [signingKey] },
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    const { fault, ...claims } = account;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name"],
    groups: ["groups"],
  },
  scopes: ["openid", "email", "profile", "groups"],
  // The scope's claims in the ID token as well as at userinfo, as Google and Keycloak do.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: ["test-only-cookie-key"] },
});

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== "/token" || ctx.status !== 200 || !ctx.body?.id_token) return;
  const fault = ACCOUNTS[decodeJwt(ctx.body.id_token).sub]?.fault;
  if (fault) ctx.body = { ...ctx.body, id_token: await spoil(ctx.body.id_token, fault) };
});

server.on("request", provider.callback());
console.log(issuer);
