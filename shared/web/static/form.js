// The form's screenshots are checked here before the form is sent, against the limits the
// server applies again: on AWS, a body past what API Gateway and Lambda carry is refused
// with a gateway error page before the function can answer with the form's own message.
// Without JavaScript the server's check still applies (and its limit stays below the
// gateway's). The limits and the sentences come from the page (data- attributes).
(function () {
  'use strict';
  var input = document.getElementById('screenshots');
  if (!input || !input.form) return;
  var maxFiles = Number(input.dataset.maxFiles);
  var maxBytes = Number(input.dataset.maxBytes);
  var hint = input.getAttribute('aria-describedby') || '';
  var message = document.createElement('p');
  message.className = 'error';
  message.id = 'screenshots-limit';
  message.setAttribute('role', 'alert');
  message.hidden = true;
  input.parentNode.insertBefore(message, input);

  function problem() {
    var files = Array.prototype.slice.call(input.files || []);
    var total = files.reduce(function (sum, file) { return sum + file.size; }, 0);
    if (files.length > maxFiles) return input.dataset.tooMany;
    if (total > maxBytes) return input.dataset.tooLarge;
    return '';
  }

  function check() {
    var text = problem();
    input.setCustomValidity(text);
    message.textContent = text;
    message.hidden = !text;
    if (text) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', (hint + ' screenshots-limit').trim());
    } else {
      input.removeAttribute('aria-invalid');
      input.setAttribute('aria-describedby', hint);
    }
    return !text;
  }

  input.addEventListener('change', check);
  input.form.addEventListener('submit', function (event) {
    if (!check()) {
      event.preventDefault();
      input.focus();
    }
  });
})();
