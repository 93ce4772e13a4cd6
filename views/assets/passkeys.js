/*
 * Tessera's passkey buttons. Every form marked data-passkey starts hidden; this script shows it
 * where the browser can use passkeys, and on submit fetches options from data-options (posting the
 * form's own fields, CSRF token included), asks the browser for a passkey, puts the answer in the
 * form's `response` field and posts the form like any other. Without this script, or without
 * WebAuthn, the buttons stay hidden and every other form works as it is.
 */
(() => {
  const webauthn = window.SimpleWebAuthnBrowser;
  if (!webauthn?.browserSupportsWebAuthn()) return;

  const CANCELLED = 'The passkey request was cancelled or timed out. Try again.';

  async function fetchOptions(form) {
    const body = new URLSearchParams(new FormData(form));
    body.delete('response');
    const res = await fetch(form.dataset.options, {
      method: 'POST',
      body,
      headers: { accept: 'application/json' },
      credentials: 'same-origin',
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(json.error_description || 'Passkeys are not available right now. Try again.');
    return json;
  }

  // A form that borrows fields from another (sign-up: the same email, username and name).
  function copyFields(form) {
    const source = form.dataset.fieldsFrom && document.getElementById(form.dataset.fieldsFrom);
    if (!source) return;
    for (const input of form.querySelectorAll('input[type="hidden"]')) {
      const from = source.elements[input.name];
      if (from && input.name !== 'csrf') input.value = from.value;
    }
  }

  async function ceremony(form, useBrowserAutofill) {
    copyFields(form);
    const optionsJSON = await fetchOptions(form);
    const answer =
      form.dataset.passkey === 'register'
        ? await webauthn.startRegistration({ optionsJSON })
        : await webauthn.startAuthentication({ optionsJSON, useBrowserAutofill });
    form.elements.response.value = JSON.stringify(answer);
    form.submit();
  }

  function showError(form, err) {
    const out = form.querySelector('[data-passkey-error]');
    if (!out) return;
    out.textContent = err?.name === 'NotAllowedError' || err?.name === 'AbortError' ? CANCELLED : err.message;
    out.hidden = false;
  }

  for (const form of document.querySelectorAll('form[data-passkey]')) {
    form.hidden = false;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      ceremony(form, false).catch((err) => showError(form, err));
    });
    // Conditional UI: the browser offers passkeys in the username field's autofill.
    if (form.dataset.autofill !== undefined) {
      webauthn
        .browserSupportsWebAuthnAutofill()
        .then((supported) => supported && ceremony(form, true))
        .catch(() => {});
    }
  }
})();
