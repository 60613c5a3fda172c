// The form's screenshots are checked here before the form is sent, against the limits the
// server applies again: on AWS, a body past what API Gateway and Lambda carry is refused
// with a gateway error page before the function can answer with the form's own message.
// Without JavaScript the server's check still applies (and its limit stays below the
// gateway's). The limits and the sentences come from the page (data- attributes). It also
// lists the chosen files with their sizes (a thumbnail for a picture), and sends the form
// once however often the button is pressed while it is on its way.
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

  // What was chosen, before it is sent: each file's name and size, a picture's thumbnail.
  var lang = document.documentElement.lang || 'es';
  var preview = document.createElement('ul');
  preview.id = 'screenshots-preview';
  preview.className = 'previews';
  preview.setAttribute('aria-live', 'polite');
  input.parentNode.appendChild(preview);
  var thumbnails = [];

  function size(bytes) {
    var number = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
    if (bytes >= 1048576) return number.format(bytes / 1048576) + ' MB';
    if (bytes >= 1024) return number.format(bytes / 1024) + ' KB';
    return number.format(bytes) + ' B';
  }

  function show() {
    thumbnails.forEach(function (url) { URL.revokeObjectURL(url); });
    thumbnails = [];
    preview.textContent = '';
    Array.prototype.forEach.call(input.files || [], function (file) {
      var item = document.createElement('li');
      if (/^image\//.test(file.type)) {
        var picture = document.createElement('img');
        var url = URL.createObjectURL(file);
        thumbnails.push(url);
        picture.src = url;
        picture.alt = '';
        item.appendChild(picture);
      }
      var text = document.createElement('span');
      text.textContent = file.name + ' (' + size(file.size) + ')';
      item.appendChild(text);
      preview.appendChild(item);
    });
  }

  input.addEventListener('change', function () {
    check();
    show();
  });
  // Sent once: a second press while the first is on its way (a slow network) sends nothing
  // more (the server would take it as the same ticket anyway).
  var button = input.form.querySelector('button[type=submit]');
  var sending = false;
  input.form.addEventListener('submit', function (event) {
    if (!check()) {
      event.preventDefault();
      input.focus();
      return;
    }
    if (sending) {
      event.preventDefault();
      return;
    }
    sending = true;
    // After the browser has taken the press: a button disabled before it would not send
    // its form.
    setTimeout(function () {
      button.disabled = true;
      button.setAttribute('aria-busy', 'true');
      if (button.dataset.sending) button.textContent = button.dataset.sending;
    }, 0);
  });
  // Back on the form (the browser's back button, a stopped upload): it can be sent again.
  var label = button.textContent;
  window.addEventListener('pageshow', function () {
    sending = false;
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = label;
  });
})();

// As the citizen leaves a field, the server checks the form's values by the very rules an
// opening applies (`POST /api/v1/tickets/check`: the cédula's check digit, the address, the
// phone), and the field says what the server would; only fields already left are marked.
(function () {
  'use strict';
  var form = document.querySelector('form[enctype="multipart/form-data"]');
  if (!form || !window.fetch) return;
  var lang = document.documentElement.lang || 'es';
  var touched = {};
  var asked = 0;

  function values() {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!element.name || element.type === 'file' || element.type === 'hidden' ||
          element.name === 'website') return;
      data[element.name] = element.value;
    });
    return data;
  }

  function mark(name, detail) {
    var field = document.getElementById(name);
    if (!field) return;
    var id = name + '-error';
    var message = document.getElementById(id);
    var described = (field.getAttribute('aria-describedby') || '').split(' ')
      .filter(function (part) { return part && part !== id; });
    if (detail) {
      if (!message) {
        message = document.createElement('p');
        message.className = 'error';
        message.id = id;
        field.parentNode.insertBefore(message, field);
      }
      message.textContent = detail;
      field.setAttribute('aria-invalid', 'true');
      described.push(id);
      field.parentNode.classList.add('invalid');
    } else {
      if (message) message.parentNode.removeChild(message);
      field.removeAttribute('aria-invalid');
      field.parentNode.classList.remove('invalid');
    }
    if (described.length) field.setAttribute('aria-describedby', described.join(' '));
    else field.removeAttribute('aria-describedby');
  }

  function check() {
    var mine = ++asked;
    fetch('/api/v1/tickets/check?lang=' + encodeURIComponent(lang), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(values()),
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (answer) {
      // A slower answer to an older question says nothing.
      if (!answer || mine !== asked) return;
      var problems = {};
      answer.errors.forEach(function (error) { problems[error.field] = error.detail; });
      Object.keys(touched).forEach(function (name) { mark(name, problems[name] || ''); });
    }).catch(function () { /* offline: the server checks on sending */ });
  }

  Array.prototype.forEach.call(form.elements, function (element) {
    if (!element.name || element.type === 'file' || element.type === 'hidden' ||
        element.name === 'website') return;
    element.addEventListener('change', function () {
      touched[element.name] = true;
      // The document number is read by its type.
      if (element.name === 'id_type' && document.getElementById('id_number').value) {
        touched.id_number = true;
      }
      check();
    });
  });
})();
