// A form's files (the ticket's screenshots, an answer's attachments) are checked here before
// the form is sent, against the limits the server applies again: on AWS, a body past what
// API Gateway and Lambda carry is refused with a gateway error page before the function can
// answer with the form's own message. Without JavaScript the server's check still applies
// (and its limit stays below the gateway's). The limits and the sentences come from the page
// (data- attributes). It also lists the chosen files with their sizes (a thumbnail for a
// picture), shows how much of the form is sent on a slow network, and sends the form once
// however often the button is pressed while it is on its way.
Array.prototype.forEach.call(document.querySelectorAll('input[type=file][data-max-files]'), function (input) {
  'use strict';
  if (!input.form) return;
  var maxFiles = Number(input.dataset.maxFiles);
  var maxBytes = Number(input.dataset.maxBytes);
  var hint = input.getAttribute('aria-describedby') || '';
  var message = document.createElement('p');
  message.className = 'error';
  message.id = input.id + '-limit';
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
      input.setAttribute('aria-describedby', (hint + ' ' + message.id).trim());
    } else {
      input.removeAttribute('aria-invalid');
      input.setAttribute('aria-describedby', hint);
    }
    return !text;
  }

  // What was chosen, before it is sent: each file's name and size, a picture's thumbnail.
  var lang = document.documentElement.lang || 'es';
  var preview = document.createElement('ul');
  preview.id = input.id + '-preview';
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
  // more (the server would take it as the same request anyway).
  var form = input.form;
  var button = form.querySelector('button[type=submit]');
  var label = button.textContent;
  var sending = false;
  // How much is sent, for a citizen on a slow line: a bar under the button, and its figure
  // for a screen reader.
  var progress = document.createElement('progress');
  progress.id = input.id + '-progress';
  progress.max = 100;
  progress.value = 0;
  progress.hidden = true;
  progress.setAttribute('aria-label', button.dataset.progress || '');
  button.parentNode.insertBefore(progress, button.nextSibling);

  function busy(on) {
    sending = on;
    button.disabled = on;
    progress.hidden = !on;
    if (on) {
      button.setAttribute('aria-busy', 'true');
      if (button.dataset.sending) button.textContent = button.dataset.sending;
    } else {
      button.removeAttribute('aria-busy');
      button.textContent = label;
      progress.value = 0;
    }
  }

  // The answer takes this page's place as a sent form's would: the page a redirect leads to
  // (an answered ticket's status page) is opened at its address; a page answered in place
  // (the new ticket's number, the form with its errors) is shown here.
  function replacePage(request) {
    var sentTo = new URL(form.action, location.href).href;
    if (request.responseURL && request.responseURL !== sentTo) {
      location.assign(request.responseURL);
      return;
    }
    // Not one of our pages (a gateway's error): too large is said at the files; anything
    // else is sent by the browser itself, which shows what comes back (the same key makes
    // it the same request).
    if (!/^text\/html/.test(request.getResponseHeader('Content-Type') || '')) {
      if (request.status === 413) {
        busy(false);
        message.textContent = input.dataset.tooLarge;
        message.hidden = false;
        input.focus();
        return;
      }
      form.submit();
      return;
    }
    document.open();
    document.write(request.responseText);
    document.close();
  }

  form.addEventListener('submit', function (event) {
    if (!check()) {
      event.preventDefault();
      input.focus();
      return;
    }
    event.preventDefault();
    if (sending) return;
    if (!window.XMLHttpRequest || !window.FormData) {
      // Sent by the browser itself, once: a button disabled before the press is taken
      // would not send its form.
      busy(true);
      form.submit();
      return;
    }
    var request = new XMLHttpRequest();
    request.open('POST', form.action);
    request.setRequestHeader('Accept', 'text/html');
    request.upload.addEventListener('progress', function (sent) {
      if (!sent.lengthComputable) return;
      progress.value = Math.round((sent.loaded / sent.total) * 100);
      progress.textContent = progress.value + ' %';
    });
    // All sent: the bar moves on its own while the server works.
    request.upload.addEventListener('load', function () { progress.removeAttribute('value'); });
    request.addEventListener('load', function () { replacePage(request); });
    // Nothing came back (the line dropped): the form stays as typed, to send again; the
    // same key makes a second try the same request.
    request.addEventListener('error', function () { busy(false); });
    request.addEventListener('abort', function () { busy(false); });
    busy(true);
    request.send(new FormData(form));
  });
  // Back on the form (the browser's back button): it can be sent again.
  window.addEventListener('pageshow', function () { busy(false); });
});

// As the citizen leaves a field, the server checks the form's values by the very rules an
// opening applies (`POST /api/v1/tickets/check`: the cédula's check digit, the address, the
// phone), and the field says what the server would; only fields already left are marked.
(function () {
  'use strict';
  var form = document.querySelector('form[data-check]');
  if (!form || !window.fetch) return;
  var lang = document.documentElement.lang || 'es';
  var touched = {};
  var asked = 0;
  // Said aloud by a screen reader when a field the citizen left is found wrong: the mark is
  // beside a field they are no longer on.
  var spoken = document.createElement('p');
  spoken.className = 'sr-only';
  spoken.setAttribute('aria-live', 'polite');
  form.appendChild(spoken);

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
      var label = document.querySelector('label[for="' + name + '"]');
      if (!message || message.textContent !== detail) {
        spoken.textContent = (label ? label.textContent.replace(/\s*\*\s*$/, '').trim() + ': ' : '') + detail;
      }
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
    fetch(form.dataset.check + '?lang=' + encodeURIComponent(lang), {
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
