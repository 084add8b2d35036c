// menshen passkey ceremonies (W3C WebAuthn Level 2 §5.1.3 create, §5.1.4 get).
// Served by the gateway itself; pages load it under "script-src 'self'". No framework.
"use strict";
(function () {
  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out.buffer;
  }

  function toText(buffer) {
    if (!buffer) { return null; }
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBytes(item.id), transports: item.transports };
    });
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data.detail || "The passkey was not accepted."); }
        return data;
      });
    });
  }

  function show(message) {
    var box = document.getElementById("passkey-error");
    if (box) { box.textContent = message; box.hidden = false; }
  }

  // An assertion ceremony against <prefix>/options and <prefix>/verify: a signed-in user's
  // second factor or re-verification ("auth"), or passwordless sign-in ("login"), where the
  // options name nobody and the browser offers the passkeys it holds for this site.
  function assertion(prefix, button) {
    var d = button.dataset;
    var base = { csrf: d.csrf, rd: d.rd, sig: d.sig };
    var ceremony;
    return post(prefix + "/options", base).then(function (start) {
      ceremony = start.ceremony_id;
      var options = start.publicKey;
      options.challenge = toBytes(options.challenge);
      options.allowCredentials = descriptors(options.allowCredentials);
      return navigator.credentials.get({ publicKey: options });
    }).then(function (credential) {
      var r = credential.response;
      return post(prefix + "/verify", Object.assign({}, base, {
        ceremony_id: ceremony,
        credential: {
          id: credential.id,
          rawId: toText(credential.rawId),
          type: credential.type,
          response: {
            clientDataJSON: toText(r.clientDataJSON),
            authenticatorData: toText(r.authenticatorData),
            signature: toText(r.signature),
            userHandle: toText(r.userHandle)
          },
          clientExtensionResults: credential.getClientExtensionResults()
        }
      }));
    });
  }

  function authenticate(button) { return assertion("/.menshen/passkey/auth", button); }

  function login(button) { return assertion("/.menshen/passkey/login", button); }

  function register(button) {
    var d = button.dataset;
    var csrf = d.csrf;
    var field = document.getElementById("passkey-name");
    var ceremony;
    return post("/.menshen/passkey/register/options", { csrf: csrf }).then(function (start) {
      ceremony = start.ceremony_id;
      var options = start.publicKey;
      options.challenge = toBytes(options.challenge);
      options.user.id = toBytes(options.user.id);
      options.excludeCredentials = descriptors(options.excludeCredentials);
      return navigator.credentials.create({ publicKey: options });
    }).then(function (credential) {
      var r = credential.response;
      return post("/.menshen/passkey/register/verify", {
        csrf: csrf,
        rd: d.rd,
        sig: d.sig,
        ceremony_id: ceremony,
        name: field ? field.value : "Passkey",
        credential: {
          id: credential.id,
          rawId: toText(credential.rawId),
          type: credential.type,
          response: {
            clientDataJSON: toText(r.clientDataJSON),
            attestationObject: toText(r.attestationObject),
            transports: r.getTransports ? r.getTransports() : []
          },
          clientExtensionResults: credential.getClientExtensionResults()
        }
      });
    });
  }

  var ceremonies = { authenticate: authenticate, login: login, register: register };
  document.querySelectorAll("[data-passkey]").forEach(function (button) {
    button.addEventListener("click", function () {
      var run = ceremonies[button.dataset.passkey];
      if (!run || !window.PublicKeyCredential) {
        show("This browser cannot use passkeys here.");
        return;
      }
      button.disabled = true;
      run(button).then(function (done) {
        window.location.assign(done.redirect);
      }).catch(function (error) {
        button.disabled = false;
        show(error && error.message ? error.message : "The passkey was not accepted.");
      });
    });
  });
})();
