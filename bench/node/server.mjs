// node oidc-provider's CIBA in ping mode: the other side of bench/versus_node.py (whose
// docstring says what this flow does and does not do next to sleutel's).
//
//   node server.mjs PORT NOTIFICATION_URL CLIENT_SECRET
//
// NOTIFICATION_URL is the relying party's ping endpoint over plain HTTP on 127.0.0.1.
// oidc-provider requires an https backchannel_client_notification_endpoint and refuses to
// fetch special-use addresses (127.0.0.0/8 among them, its SSRF protection); the configuration's
// `fetch` hook below sends the ping to the given URL instead, over plain HTTP, without that
// dispatcher: as sleutel sends its own pings to the same relying party.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const [port, notificationUrl, clientSecret] = process.argv.slice(2);
if (!port || !notificationUrl || !clientSecret) {
  console.error('usage: node server.mjs PORT NOTIFICATION_URL CLIENT_SECRET');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const registered = new URL(notificationUrl);
registered.protocol = 'https:';

// The ID token's ES256 key, made at start (as sleutel makes its own at first start).
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `es256-${randomBytes(6).toString('hex')}`, alg: 'ES256', use: 'sig' };

// The people: a phone number stands for an account; nothing is looked up anywhere else.
const PHONE = /^\+32\d{9}$/;

let provider;

// The approval, made in this process right after the request is answered (no phone, no
// signature, no code): a Grant for the requested scope, then backchannelResult, which saves the
// request with the grant and sends the ping.
async function approve(request) {
  const grant = new provider.Grant({ accountId: request.accountId, clientId: request.clientId });
  grant.addOIDCScope(request.scope);
  await grant.save();
  await provider.backchannelResult(request, grant, {
    acr: 'http://itsme.services/v2/claim/acr_advanced',
    amr: ['pin', 'hwk'],
    authTime: Math.floor(Date.now() / 1000),
  });
}

provider = new Provider(issuer, {
  // The default adapter: oidc-provider's in-memory LRU store (nothing reaches a disk).
  clients: [{
    client_id: 'bench-rp',
    client_secret: clientSecret,
    grant_types: ['urn:openid:params:grant-type:ciba'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    backchannel_token_delivery_mode: 'ping',
    backchannel_client_notification_endpoint: registered.href,
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [jwk] },
  // sleutel's lifetimes: a backchannel request 180 s, access and ID tokens 10 minutes.
  ttl: {
    BackchannelAuthenticationRequest: 180, AccessToken: 600, IdToken: 600, Grant: 600,
  },
  findAccount: (ctx, id) => (PHONE.test(id) ? { accountId: id, claims: () => ({ sub: id }) } : undefined),
  features: {
    devInteractions: { enabled: false },
    ciba: {
      enabled: true,
      deliveryModes: ['ping'],
      processLoginHint: (ctx, loginHint) => (PHONE.test(loginHint) ? loginHint : undefined),
      verifyUserCode: () => {}, // user codes are not used (backchannel_user_code_parameter false)
      validateRequestContext: () => {},
      // The library's default check (1–20 characters of a basic set) is kept: see its source.
      triggerAuthenticationDevice: (ctx, request) => {
        setImmediate(() => approve(request).catch((error) => console.error('approve:', error)));
      },
    },
  },
  fetch: (url, options) => {
    const { dispatcher, ...rest } = options; // eslint-disable-line no-unused-vars
    return fetch(url.replace(/^https:/, 'http:'), rest);
  },
});

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`listening on ${issuer}`);
});
