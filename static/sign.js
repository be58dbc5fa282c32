// The letter page is cached and shared by every visitor, so its sign form comes without a
// CSRF token. Fetch this visitor's own as soon as they start filling the form in, and at the
// latest when they press the button. Without JavaScript, or if this fails, the server accepts
// the form when the browser says it came from our own page, or asks to press the button again.
(function () {
  "use strict";
  document.querySelectorAll("form[data-csrf-url]").forEach(function (form) {
    var field = form.querySelector("input[name=csrf_token]");
    var pending = null;
    function fetchToken() {
      if (!pending) {
        pending = fetch(form.dataset.csrfUrl, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        })
          .then(function (response) { return response.ok ? response.json() : null; })
          .then(function (data) { if (data && data.csrf_token) { field.value = data.csrf_token; } })
          .catch(function () { pending = null; });
      }
      return pending;
    }
    form.addEventListener("focusin", fetchToken, { once: true });
    form.addEventListener("submit", function (event) {
      if (field.value) { return; }
      event.preventDefault();
      var done = function () { form.submit(); };
      fetchToken().then(done, done);
    });
  });
})();
