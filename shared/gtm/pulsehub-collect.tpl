___TERMS_OF_SERVICE___

By creating or modifying this file you agree to Google Tag Manager's Community
Template Gallery Developer Terms of Service available at
https://developers.google.com/tag-manager/gallery-tos (or such other URL as
Google may provide), as modified from time to time.


___INFO___

{
  "type": "TAG",
  "id": "cvt_temp_public_id",
  "version": 1,
  "securityGroups": [],
  "displayName": "PulseHub Collect",
  "categories": ["ANALYTICS", "MARKETING"],
  "brand": {
    "id": "pulsehub",
    "displayName": "PulseHub"
  },
  "description": "pulsehub-collect: sends dataLayer events (page views, product views, add to cart, checkout, purchase) to PulseHub's POST /collect with your write key.",
  "containerContexts": [
    "WEB"
  ]
}


___TEMPLATE_PARAMETERS___

[
  {
    "type": "TEXT",
    "name": "endpoint",
    "displayName": "PulseHub collect URL",
    "simpleValueType": true,
    "help": "Your PulseHub base URL followed by /collect, e.g. https://api.pulsehub.example/collect",
    "valueValidators": [{"type": "NON_EMPTY"}, {"type": "REGEX", "args": ["^https?://.+/collect$"]}]
  },
  {
    "type": "TEXT",
    "name": "writeKey",
    "displayName": "Write key",
    "simpleValueType": true,
    "help": "The collect write key from PulseHub's GTM integration settings.",
    "valueValidators": [{"type": "NON_EMPTY"}]
  },
  {
    "type": "TEXT",
    "name": "scriptUrl",
    "displayName": "Collector script URL",
    "simpleValueType": true,
    "help": "Where pulsehub-collect.js is served (HTTPS). It posts the queued events as JSON.",
    "valueValidators": [{"type": "NON_EMPTY"}]
  },
  {
    "type": "TEXT",
    "name": "eventName",
    "displayName": "Event name (empty: the dataLayer event)",
    "simpleValueType": true
  },
  {
    "type": "TEXT",
    "name": "eventIdKey",
    "displayName": "dataLayer key of the event id (shared with the Meta Pixel eventID)",
    "simpleValueType": true,
    "defaultValue": "eventId"
  },
  {
    "type": "TEXT",
    "name": "userIdKey",
    "displayName": "dataLayer key of the logged-in customer id",
    "simpleValueType": true,
    "defaultValue": "userId"
  },
  {
    "type": "TEXT",
    "name": "emailKey",
    "displayName": "dataLayer key of the customer email",
    "simpleValueType": true,
    "defaultValue": "email"
  },
  {
    "type": "SIMPLE_TABLE",
    "name": "properties",
    "displayName": "Extra properties (name ← dataLayer key)",
    "simpleTableColumns": [
      {"defaultValue": "", "displayName": "Property name", "name": "name", "type": "TEXT"},
      {"defaultValue": "", "displayName": "dataLayer key", "name": "key", "type": "TEXT"}
    ]
  }
]


___SANDBOXED_JS_FOR_WEB_TEMPLATE___

// Web templates cannot POST from the sandbox, so the tag queues the event in
// window._pulsehubq and loads the collector script, which posts the queue to
// /collect as JSON (fetch with keepalive) and sends later pushes at once.
const copyFromDataLayer = require('copyFromDataLayer');
const createQueue = require('createQueue');
const generateRandom = require('generateRandom');
const getCookieValues = require('getCookieValues');
const getTimestampMillis = require('getTimestampMillis');
const getUrl = require('getUrl');
const getReferrerUrl = require('getReferrerUrl');
const injectScript = require('injectScript');
const makeString = require('makeString');
const setCookie = require('setCookie');

const push = createQueue('_pulsehubq');

let anonymousId = getCookieValues('_pulsehub_aid')[0];
if (!anonymousId) {
  anonymousId = makeString(getTimestampMillis()) + '.' + makeString(generateRandom(100000000, 999999999));
  setCookie('_pulsehub_aid', anonymousId, {domain: 'auto', path: '/', 'max-age': 63072000, samesite: 'Lax', secure: true});
}

const eventName = data.eventName || copyFromDataLayer('event');
let eventId = copyFromDataLayer(data.eventIdKey || 'eventId');
if (!eventId) {
  eventId = makeString(getTimestampMillis()) + '.' + makeString(generateRandom(100000000, 999999999));
}

const properties = {url: getUrl(), referrer: getReferrerUrl()};
const ecommerce = copyFromDataLayer('ecommerce');
if (ecommerce) {
  properties.ecommerce = ecommerce;
}
const rows = data.properties || [];
for (let i = 0; i < rows.length; i++) {
  properties[rows[i].name] = copyFromDataLayer(rows[i].key);
}

const event = {
  event: eventName,
  eventId: makeString(eventId),
  timestamp: getTimestampMillis(),
  anonymousId: anonymousId,
  properties: properties
};
const userId = copyFromDataLayer(data.userIdKey || 'userId');
if (userId) {
  event.userId = makeString(userId);
}
const email = copyFromDataLayer(data.emailKey || 'email');
if (email) {
  event.email = makeString(email);
}

push({endpoint: data.endpoint, writeKey: data.writeKey, event: event});
injectScript(data.scriptUrl, data.gtmOnSuccess, data.gtmOnFailure, 'pulsehub-collect');


___WEB_PERMISSIONS___

[
  {
    "instance": {
      "key": {"publicId": "access_globals", "versionId": "1"},
      "param": [
        {
          "key": "keys",
          "value": {
            "type": 2,
            "listItem": [
              {
                "type": 3,
                "mapKey": [
                  {"type": 1, "string": "key"},
                  {"type": 1, "string": "read"},
                  {"type": 1, "string": "write"},
                  {"type": 1, "string": "execute"}
                ],
                "mapValue": [
                  {"type": 1, "string": "_pulsehubq"},
                  {"type": 8, "boolean": true},
                  {"type": 8, "boolean": true},
                  {"type": 8, "boolean": false}
                ]
              }
            ]
          }
        }
      ]
    },
    "clientAnnotations": {"isEditedByUser": true},
    "isRequired": true
  },
  {
    "instance": {
      "key": {"publicId": "read_data_layer", "versionId": "1"},
      "param": [{"key": "allowedKeys", "value": {"type": 1, "string": "any"}}]
    },
    "clientAnnotations": {"isEditedByUser": true},
    "isRequired": true
  },
  {
    "instance": {
      "key": {"publicId": "get_cookies", "versionId": "1"},
      "param": [
        {"key": "cookieAccess", "value": {"type": 1, "string": "specific"}},
        {"key": "cookieNames", "value": {"type": 2, "listItem": [{"type": 1, "string": "_pulsehub_aid"}]}}
      ]
    },
    "clientAnnotations": {"isEditedByUser": true},
    "isRequired": true
  },
  {
    "instance": {
      "key": {"publicId": "set_cookies", "versionId": "1"},
      "param": [
        {
          "key": "allowedCookies",
          "value": {
            "type": 2,
            "listItem": [
              {
                "type": 3,
                "mapKey": [
                  {"type": 1, "string": "name"},
                  {"type": 1, "string": "domain"},
                  {"type": 1, "string": "path"},
                  {"type": 1, "string": "secure"},
                  {"type": 1, "string": "session"}
                ],
                "mapValue": [
                  {"type": 1, "string": "_pulsehub_aid"},
                  {"type": 1, "string": "*"},
                  {"type": 1, "string": "*"},
                  {"type": 1, "string": "any"},
                  {"type": 1, "string": "any"}
                ]
              }
            ]
          }
        }
      ]
    },
    "clientAnnotations": {"isEditedByUser": true},
    "isRequired": true
  },
  {
    "instance": {
      "key": {"publicId": "get_url", "versionId": "1"},
      "param": [{"key": "urlParts", "value": {"type": 1, "string": "any"}}]
    },
    "isRequired": true
  },
  {
    "instance": {
      "key": {"publicId": "get_referrer", "versionId": "1"},
      "param": [{"key": "urlParts", "value": {"type": 1, "string": "any"}}]
    },
    "isRequired": true
  },
  {
    "instance": {
      "key": {"publicId": "inject_script", "versionId": "1"},
      "param": [{"key": "urls", "value": {"type": 2, "listItem": [{"type": 1, "string": "https://*/*"}]}}]
    },
    "clientAnnotations": {"isEditedByUser": true},
    "isRequired": true
  }
]


___TESTS___

scenarios:
- name: queues the dataLayer event and loads the collector
  code: |-
    const mockData = {endpoint: 'https://api.example/collect', writeKey: 'wk', scriptUrl: 'https://api.example/pulsehub-collect.js'};
    mock('copyFromDataLayer', (key) => key === 'event' ? 'add_to_cart' : undefined);
    mock('injectScript', (url, onSuccess) => { onSuccess(); });
    runCode(mockData);
    assertApi('injectScript').wasCalled();
    assertApi('gtmOnSuccess').wasCalled();


___NOTES___

PulseHub Collect tag template. See docs/gtm.md.
