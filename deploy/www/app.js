/*
 * app.js - the upload page (deploy/www/index.html). No framework, no build
 * step, no other host: plain DOM, XMLHttpRequest for the upload (fetch has
 * no upload progress events) and fetch for the status polls.
 *
 * Flow: the key and the options are checked here first (so an obvious
 * mistake costs no upload), the form fields go before the file part (the
 * server validates them before it stores a byte of the file), the upload
 * shows its progress, a 202 shows the task, and GET /v1/status/{id} is
 * polled until the task reaches a final status or POLL_MAX_MS has passed.
 * Every error the API can answer with becomes a sentence for a person
 * (describeError); the server's own detail is shown below it.
 *
 * window.FcgiUpload exposes the pure helpers so tests/browser can check the
 * message of every error code without provoking each one.
 */
(function () {
    'use strict';

    var KEY_STORAGE = 'fcgi_upload.api_key';
    var POLL_FAST_MS = 2000; // first minute: a short task is seen at once
    var POLL_FAST_FOR_MS = 60 * 1000;
    var POLL_SLOW_MS = 5000;
    var POLL_MAX_MS = 10 * 60 * 1000; // then stop; a button starts again
    var POLL_REQ_TIMEOUT_MS = 15000; // one status request
    var POLL_MAX_FAILURES = 5; // network failures in a row before giving up
    var FINAL_STATUSES = ['COMPLETE', 'COMPLETED', 'FAILED', 'FINISHED', 'SUCCESS', 'SUCCEEDED',
        'DONE', 'ERROR', 'CANCELLED', 'CANCELED', 'STOPPED'];
    var FORMATS = 'WAV, MP3, M4A, FLAC, Ogg or Opus';

    // ---- pure helpers (exported) ---------------------------------------

    function formatBytes(n) {
        if (typeof n !== 'number' || !isFinite(n) || n < 0) return '';
        if (n < 1024) return n + (n === 1 ? ' byte' : ' bytes');
        if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KB';
        if (n < 1024 * 1024 * 1024) return (n / 1024 / 1024).toFixed(1) + ' MB';
        return (n / 1024 / 1024 / 1024).toFixed(2) + ' GB';
    }

    // "in 30 seconds" from a Retry-After value (seconds or an HTTP date);
    // '' when there is none or it cannot be read.
    function retryText(value) {
        if (!value) return '';
        var v = String(value).trim();
        var s = /^\d+$/.test(v) ? parseInt(v, 10) : Math.round((Date.parse(v) - Date.now()) / 1000);
        if (!isFinite(s) || s < 0) return '';
        if (s < 90) return 'in ' + s + (s === 1 ? ' second' : ' seconds');
        return 'in about ' + Math.round(s / 60) + ' minutes';
    }

    // When a front end answers without our JSON body (an HTML error page),
    // the HTTP status still says what happened.
    var CODE_BY_STATUS = {
        401: 'UNAUTHORIZED', 403: 'UNAUTHORIZED', 404: 'NOT_FOUND',
        405: 'METHOD_NOT_ALLOWED', 411: 'LENGTH_REQUIRED', 413: 'FILE_TOO_LARGE',
        415: 'INVALID_FILE_FORMAT', 429: 'QUEUE_FULL', 500: 'INTERNAL_ERROR',
        502: 'BAD_GATEWAY', 503: 'SERVICE_UNAVAILABLE', 504: 'GATEWAY_TIMEOUT',
        507: 'INSUFFICIENT_STORAGE'
    };

    /*
     * describeError(status, body, info) -> {title, detail, code, known}
     *   status  HTTP status
     *   body    the parsed JSON answer ({detail, error_code}) or null
     *   info    {retryAfter, requestId, fileSize, fileName, phase}
     *           phase: 'upload' (POST /v1/process) or 'status' (a poll)
     * title is the sentence for a person; detail repeats what the server
     * said (its detail, the code, the HTTP status, the request id) so a
     * report to the administrator can quote it. known is false when the
     * title is only the fallback (an error code this page does not know).
     */
    function describeError(status, body, info) {
        info = info || {};
        var hasJson = body && typeof body === 'object';
        var sent = hasJson && typeof body.error_code === 'string' ? body.error_code : '';
        var detail = hasJson && typeof body.detail === 'string' ? body.detail : '';
        var code = sent || CODE_BY_STATUS[status] || '';
        var wait = retryText(info.retryAfter);
        var file = info.fileName ? '“' + info.fileName + '”' : 'The file';
        var size = typeof info.fileSize === 'number' ? ' (' + formatBytes(info.fileSize) + ')' : '';
        var known = true;
        var title, m;

        switch (code) {
        case 'UNAUTHORIZED':
            title = 'The API key was not accepted. Check that you entered the whole key ' +
                '(at least 32 characters) and try again.';
            break;
        case 'FILE_TOO_LARGE':
            m = /(\d+(?:\.\d+)?)\s*MB/i.exec(detail);
            title = file + size + ' is too large: ' +
                (m ? 'this server accepts files up to ' + m[1] + ' MB.'
                   : 'it is over the size this server accepts.');
            break;
        case 'INVALID_FILE_FORMAT':
            title = file + ' is not an audio format this service accepts. ' +
                'Choose a ' + FORMATS + ' file.';
            break;
        case 'QUEUE_FULL':
            title = 'The processing queue is full right now, so the file was not accepted. ' +
                'Please try again ' + (wait || 'in a little while') + '.';
            break;
        case 'MISSING_FILE':
            title = 'The upload did not contain a file. Choose an audio file and try again.';
            break;
        case 'MULTIPLE_FILES':
            title = 'Only one file can be uploaded at a time.';
            break;
        case 'EMPTY_FILE':
            title = file + ' is empty (0 bytes). Choose a file that contains audio.';
            break;
        case 'VALIDATION_ERROR':
            title = 'One of the options was not accepted' + (detail ? ': ' + detail : '.') +
                (/[.!?]$/.test(detail) ? '' : detail ? '.' : '');
            break;
        case 'INVALID_MULTIPART':
            title = 'The server could not read the upload: the request was malformed or ' +
                'cut off on the way. Please try again.';
            break;
        case 'INSUFFICIENT_STORAGE':
            title = 'The server has run out of storage space, so the file could not be kept. ' +
                'Please try again later, or tell the administrator.';
            break;
        case 'SERVICE_UNAVAILABLE':
            title = 'The service is temporarily unavailable. Please try again ' +
                (wait || 'in a moment') + '.';
            break;
        case 'INTERNAL_ERROR':
            title = 'The server hit an unexpected error' +
                (info.phase === 'status' ? '.' : ' and did not accept the file.') +
                ' Please try again; if it keeps happening, tell the administrator' +
                (info.requestId ? ' (quote request id ' + info.requestId + ').' : '.');
            break;
        case 'NOT_FOUND':
            title = info.phase === 'status'
                ? 'The server does not know this task (it may have been removed).'
                : 'The upload address was not found on this server.';
            break;
        case 'METHOD_NOT_ALLOWED':
            title = 'The server does not allow this kind of request at this address.';
            break;
        case 'LENGTH_REQUIRED':
            title = 'The web server needs to know the size of the upload in advance ' +
                '(HTTP 411). Please try again with another browser.';
            break;
        case 'BAD_GATEWAY':
        case 'GATEWAY_TIMEOUT':
            title = 'The web server could not get an answer from the upload service (HTTP ' +
                status + '). Please try again in a moment.';
            break;
        default:
            known = false;
            title = detail ? 'The request was refused: ' + detail
                : 'The server answered with an unexpected error (HTTP ' + status + ').';
        }

        var parts = [];
        if (detail) parts.push('Server said: “' + detail + '”');
        parts.push('HTTP ' + status + (sent ? ' ' + sent : ''));
        if (wait && (code === 'QUEUE_FULL' || code === 'SERVICE_UNAVAILABLE')) {
            parts.push('Retry-After ' + String(info.retryAfter).trim());
        }
        if (info.requestId) parts.push('request id ' + info.requestId);
        return {title: title, detail: parts.join(' · '), code: code, known: known};
    }

    /*
     * describeTransportError(kind, info) -> {title, detail}: when no HTTP
     * answer arrived. kind: 'abort' (the user cancelled), 'timeout',
     * 'network'. info: {sent, total} bytes of the upload body, when known.
     */
    function describeTransportError(kind, info) {
        info = info || {};
        if (kind === 'abort') {
            return {title: 'The upload was cancelled. The server discards a partial upload.',
                detail: ''};
        }
        if (kind === 'timeout') {
            return {title: 'The server did not answer in time. Please try again.', detail: ''};
        }
        if (info.total > 0 && info.sent > 0 && info.sent < info.total) {
            return {
                title: 'The connection was lost after ' + formatBytes(info.sent) + ' of ' +
                    formatBytes(info.total) + ' had been sent. Either the network failed, or ' +
                    'the server stopped the upload early (for example because the file is too ' +
                    'large or not audio). Please check the file and try again.',
                detail: 'No HTTP answer was received.'
            };
        }
        return {
            title: 'Could not reach the server. Check your network connection and that the ' +
                'service is running, then try again.',
            detail: 'No HTTP answer was received.'
        };
    }

    function isFinalStatus(s) {
        return typeof s === 'string' && FINAL_STATUSES.indexOf(s.toUpperCase()) !== -1;
    }

    function parseJson(text) {
        if (!text) return null;
        try {
            var v = JSON.parse(text);
            return v && typeof v === 'object' ? v : null;
        } catch (e) {
            return null;
        }
    }

    window.FcgiUpload = {
        describeError: describeError,
        describeTransportError: describeTransportError,
        formatBytes: formatBytes,
        retryText: retryText,
        isFinalStatus: isFinalStatus
    };

    // ---- the page ------------------------------------------------------------

    function $(id) { return document.getElementById(id); }

    var el = {};
    var selectedFile = null;
    var xhr = null; // the upload in flight
    var poll = null; // {id, key, started, failures, timer, ctrl}

    function storageGet() {
        try { return window.sessionStorage.getItem(KEY_STORAGE); } catch (e) { return null; }
    }
    function storageSet(v) {
        try {
            if (v) window.sessionStorage.setItem(KEY_STORAGE, v);
            else window.sessionStorage.removeItem(KEY_STORAGE);
        } catch (e) { /* storage disabled: the key is simply not remembered */ }
    }

    function showMessage(kind, title, detail) {
        el.message.className = 'msg msg-' + kind;
        el.messageText.textContent = title;
        el.messageDetail.textContent = detail || '';
        el.messageDetail.hidden = !detail;
        el.message.hidden = false;
        reveal(el.message);
    }

    // Bring a message into view when the long form has pushed it below the
    // fold (no smooth scrolling: it must not move under a reader's pointer).
    function reveal(node) {
        if (node.scrollIntoView) node.scrollIntoView({block: 'nearest'});
    }
    function clearMessage() {
        el.message.hidden = true;
        el.messageText.textContent = '';
        el.messageDetail.textContent = '';
    }

    function markInvalid(input, bad) {
        if (bad) input.setAttribute('aria-invalid', 'true');
        else input.removeAttribute('aria-invalid');
    }

    function setFile(f) {
        selectedFile = f || null;
        el.dropZone.classList.toggle('has-file', !!selectedFile);
        if (!selectedFile) {
            el.fileInfo.textContent = 'No file chosen.';
            return;
        }
        var t = selectedFile.type ? ' · ' + selectedFile.type : '';
        el.fileInfo.textContent = 'Selected: ' + selectedFile.name + ' · ' +
            formatBytes(selectedFile.size) + t;
        markInvalid(el.file, false);
        clearMessage();
    }

    function checkedFeatures() {
        var out = [];
        var boxes = el.form.querySelectorAll('input[name="features"]');
        for (var i = 0; i < boxes.length; i++) if (boxes[i].checked) out.push(boxes[i].value);
        return out;
    }

    // The checks the server would make anyway, made before sending a byte.
    // Returns {message, input} for the first problem, or null.
    function validate(key, features) {
        [el.apiKey, el.file, el.templateId, el.vadThreshold].forEach(function (i) {
            markInvalid(i, false);
        });
        if (!key) return {message: 'Enter your API key first.', input: el.apiKey};
        if (!selectedFile) return {message: 'Choose an audio file first (or drop one on the box).', input: el.file};
        if (selectedFile.size === 0) {
            return {message: '“' + selectedFile.name + '” is empty (0 bytes). Choose a file that contains audio.', input: el.file};
        }
        if (features.length === 0) {
            return {message: 'Choose at least one result to produce.', input: el.form.querySelector('input[name="features"]')};
        }
        if (features.indexOf('summary') !== -1 && !el.templateId.value.trim()) {
            return {message: 'A summary needs a template: enter a summary template id, or untick Summary.', input: el.templateId};
        }
        var v = el.vadThreshold.value.trim();
        if (el.vadThreshold.validity.badInput || (v !== '' && !(Number(v) >= 0 && Number(v) <= 1))) {
            return {message: 'The VAD threshold must be a number from 0 to 1 (or empty for the default).', input: el.vadThreshold};
        }
        return null;
    }

    function setBusy(busy) {
        el.uploadButton.disabled = busy;
        el.uploadButton.textContent = busy ? 'Uploading…' : 'Upload';
        el.cancelButton.hidden = !busy;
    }

    function setProgress(sent, total, text) {
        el.progressSection.hidden = false;
        if (total > 0) {
            el.progress.max = total;
            el.progress.value = Math.min(sent, total);
        } else {
            el.progress.removeAttribute('value'); // indeterminate
        }
        el.progressText.textContent = text;
    }

    function onSubmit(ev) {
        ev.preventDefault();
        if (xhr) return;
        var key = el.apiKey.value.trim();
        var features = checkedFeatures();
        var bad = validate(key, features);
        if (bad) {
            showMessage('error', bad.message, '');
            if (bad.input) {
                markInvalid(bad.input, true);
                bad.input.focus();
            }
            return;
        }
        if (el.rememberKey.checked) storageSet(key);

        var file = selectedFile;
        var fd = new FormData();
        // Fields first: the server checks them before it stores the file.
        features.forEach(function (f) { fd.append('features', f); });
        var tpl = el.templateId.value.trim();
        if (tpl) fd.append('template_id', tpl);
        if (el.asrBackend.value) fd.append('asr_backend', el.asrBackend.value);
        fd.append('enable_diarization', el.enableDiarization.checked ? 'true' : 'false');
        fd.append('enable_vad', el.enableVad.checked ? 'true' : 'false');
        var vt = el.vadThreshold.value.trim();
        if (vt !== '') fd.append('vad_threshold', vt);
        fd.append('file', file, file.name);

        stopPolling();
        clearMessage();
        el.result.hidden = true;
        el.progress.classList.remove('failed');
        setBusy(true);

        var total = file.size;
        var sent = 0;
        var t0 = Date.now();
        setProgress(0, total, 'Starting the upload of ' + file.name + '…');

        var req = new XMLHttpRequest();
        xhr = req;
        req.open('POST', '/v1/process');
        req.setRequestHeader('X-API-Key', key);
        req.setRequestHeader('Accept', 'application/json');
        req.responseType = 'text';

        req.upload.onprogress = function (e) {
            if (!e.lengthComputable) return;
            // e.total counts the whole multipart body; show the file's share
            total = e.total;
            sent = e.loaded;
            var pct = Math.floor(100 * sent / total);
            var secs = (Date.now() - t0) / 1000;
            var rate = secs > 0.5 ? ' · ' + formatBytes(sent / secs) + '/s' : '';
            setProgress(sent, total, 'Sending: ' + formatBytes(sent) + ' of ' +
                formatBytes(total) + ' (' + pct + '%)' + rate);
        };
        req.upload.onload = function () {
            sent = total;
            setProgress(total, total, 'All ' + formatBytes(total) +
                ' sent. Waiting for the server to store and check the file…');
        };
        req.onload = function () {
            var body = parseJson(req.responseText);
            if (req.status === 202 && body && typeof body.task_id === 'string') {
                setProgress(1, 1, 'Uploaded ' + file.name + ' (' + formatBytes(file.size) + ') in ' +
                    ((Date.now() - t0) / 1000).toFixed(1) + ' s.');
                showTask(body, key);
                return;
            }
            el.progress.classList.add('failed');
            setProgress(sent, total, 'The upload was not accepted.');
            if (req.status >= 200 && req.status < 300) {
                showMessage('error', 'The server answered, but not with a task (HTTP ' + req.status +
                    '). Please try again.', req.responseText.slice(0, 200));
                return;
            }
            var d = describeError(req.status, body, {
                retryAfter: req.getResponseHeader('Retry-After'),
                requestId: req.getResponseHeader('X-Request-ID'),
                fileSize: file.size, fileName: file.name, phase: 'upload'
            });
            showMessage('error', d.title, d.detail);
            if (d.code === 'UNAUTHORIZED') markInvalid(el.apiKey, true);
        };
        function transport(kind) {
            return function () {
                el.progress.classList.add('failed');
                setProgress(sent, total, kind === 'abort' ? 'Upload cancelled.' : 'The upload failed.');
                var d = describeTransportError(kind, {sent: sent, total: total});
                showMessage(kind === 'abort' ? 'info' : 'error', d.title, d.detail);
            };
        }
        req.onerror = transport('network');
        req.onabort = transport('abort');
        req.ontimeout = transport('timeout');
        req.onloadend = function () {
            if (xhr === req) xhr = null;
            setBusy(false);
            checkHealth(); // the queue depth and free space have changed
        };
        req.send(fd);
    }

    function setStatus(status) {
        var s = typeof status === 'string' && status ? status : 'UNKNOWN';
        el.taskStatus.textContent = s;
        var u = s.toUpperCase();
        var cls = /FAIL|ERROR|CANCEL|STOP/.test(u) ? 'failed'
            : isFinalStatus(u) ? 'done'
            : u === 'PENDING' || u === 'QUEUED' ? 'pending' : 'running';
        el.taskStatus.className = 'badge badge-' + cls;
    }

    function showTask(t, key) {
        el.taskId.textContent = t.task_id;
        setStatus(t.status);
        el.taskSize.textContent = typeof t.size_bytes === 'number'
            ? formatBytes(t.size_bytes) + ' (' + t.size_bytes + ' bytes)' : '';
        el.taskMime.textContent = t.mime_type || '';
        el.taskSha.textContent = t.sha256 || '';
        el.pollInfo.textContent = '';
        el.result.hidden = false;
        showMessage('ok', 'Upload accepted. The task is queued for processing.', '');
        reveal(el.result);
        startPolling(t.task_id, key);
    }

    function clock() {
        var d = new Date();
        return d.toLocaleTimeString();
    }

    function stopPolling(why) {
        if (!poll) return;
        clearTimeout(poll.timer);
        if (poll.ctrl) poll.ctrl.abort();
        poll = null;
        el.refreshButton.hidden = !why || why === 'final';
    }

    function startPolling(id, key) {
        stopPolling();
        poll = {id: id, key: key, started: Date.now(), failures: 0, timer: 0, ctrl: null};
        el.refreshButton.hidden = true;
        el.pollInfo.textContent = '(checking…)';
        pollOnce(poll);
    }

    function scheduleNext(p) {
        if (poll !== p) return;
        var elapsed = Date.now() - p.started;
        if (elapsed >= POLL_MAX_MS) {
            stopPolling('time');
            el.pollInfo.textContent = '(stopped checking after ' + Math.round(POLL_MAX_MS / 60000) +
                ' minutes; last checked ' + clock() + ')';
            return;
        }
        p.timer = setTimeout(function () { pollOnce(p); },
            elapsed < POLL_FAST_FOR_MS ? POLL_FAST_MS : POLL_SLOW_MS);
    }

    function pollOnce(p) {
        if (poll !== p) return;
        var ctrl = typeof AbortController === 'function' ? new AbortController() : null;
        p.ctrl = ctrl;
        var timer = setTimeout(function () { if (ctrl) ctrl.abort(); }, POLL_REQ_TIMEOUT_MS);
        var res = null;
        fetch('/v1/status/' + encodeURIComponent(p.id), {
            headers: {'X-API-Key': p.key, 'Accept': 'application/json'},
            cache: 'no-store',
            signal: ctrl ? ctrl.signal : undefined
        }).then(function (r) {
            res = r;
            return r.text();
        }).then(function (text) {
            clearTimeout(timer);
            if (poll !== p) return;
            var body = parseJson(text);
            p.failures = 0;
            if (res.ok && body) {
                setStatus(body.status);
                if (isFinalStatus(body.status)) {
                    stopPolling('final');
                    var extra = body.error || body.error_message || '';
                    el.pollInfo.textContent = '(final; checked ' + clock() + ')' +
                        (typeof extra === 'string' && extra ? ' ' + extra : '');
                    return;
                }
                el.pollInfo.textContent = '(last checked ' + clock() + ')';
                scheduleNext(p);
                return;
            }
            var d = describeError(res.status, body, {
                retryAfter: res.headers.get('Retry-After'),
                requestId: res.headers.get('X-Request-ID'),
                phase: 'status'
            });
            showMessage('error', 'Could not read the task status. ' + d.title, d.detail);
            if (res.status === 401 || res.status === 403 || res.status === 404) {
                stopPolling('error');
                el.pollInfo.textContent = '(stopped checking)';
                return;
            }
            el.pollInfo.textContent = '(could not check at ' + clock() + '; retrying)';
            scheduleNext(p);
        }).catch(function () {
            clearTimeout(timer);
            if (poll !== p) return; // stopped on purpose
            p.failures++;
            if (p.failures >= POLL_MAX_FAILURES) {
                stopPolling('error');
                var d = describeTransportError('network', {});
                showMessage('error', 'Could not read the task status. ' + d.title, d.detail);
                el.pollInfo.textContent = '(stopped checking)';
                return;
            }
            el.pollInfo.textContent = '(server not reachable at ' + clock() + '; retrying)';
            scheduleNext(p);
        });
    }

    function checkHealth() {
        fetch('/health', {cache: 'no-store', headers: {'Accept': 'application/json'}})
            .then(function (r) {
                return r.text().then(function (t) { return {r: r, body: parseJson(t)}; });
            })
            .then(function (x) {
                if (!x.r.ok || !x.body) {
                    el.service.textContent = 'The service did not pass its health check (HTTP ' +
                        x.r.status + '). Uploads may fail.';
                    return;
                }
                var b = x.body;
                var parts = ['Service is up'];
                if (b.version) parts.push('version ' + b.version);
                if (typeof b.queue_depth === 'number') {
                    parts.push(b.queue_depth + (b.queue_depth === 1 ? ' task' : ' tasks') + ' waiting');
                }
                if (typeof b.spool_free_bytes === 'number') {
                    parts.push(formatBytes(b.spool_free_bytes) + ' free');
                }
                el.service.textContent = parts.join(' · ');
            })
            .catch(function () {
                el.service.textContent = 'The service could not be reached. Uploads may fail.';
            });
    }

    function initDrop() {
        var depth = 0;
        function has(e) {
            var t = e.dataTransfer && e.dataTransfer.types;
            if (!t) return false;
            for (var i = 0; i < t.length; i++) if (t[i] === 'Files') return true;
            return false;
        }
        el.dropZone.addEventListener('dragenter', function (e) {
            if (!has(e)) return;
            e.preventDefault();
            depth++;
            el.dropZone.classList.add('dragging');
        });
        el.dropZone.addEventListener('dragover', function (e) {
            if (!has(e)) return;
            e.preventDefault();
            e.dataTransfer.dropEffect = 'copy';
        });
        el.dropZone.addEventListener('dragleave', function () {
            depth = Math.max(0, depth - 1);
            if (depth === 0) el.dropZone.classList.remove('dragging');
        });
        el.dropZone.addEventListener('drop', function (e) {
            e.preventDefault();
            depth = 0;
            el.dropZone.classList.remove('dragging');
            var files = e.dataTransfer && e.dataTransfer.files;
            if (!files || files.length === 0) return;
            if (files.length > 1) {
                showMessage('error', 'Drop one file at a time: only one file can be uploaded per task.', '');
                return;
            }
            try { el.file.files = files; } catch (err) { /* older browsers: kept in selectedFile */ }
            setFile(files[0]);
        });
        // A file dropped beside the box must not make the browser leave the page.
        window.addEventListener('dragover', function (e) { if (has(e)) e.preventDefault(); });
        window.addEventListener('drop', function (e) { if (has(e)) e.preventDefault(); });
    }

    function init() {
        var ids = {
            form: 'upload-form', apiKey: 'api-key', rememberKey: 'remember-key',
            dropZone: 'drop-zone', file: 'file', fileInfo: 'file-info',
            templateId: 'template-id', featureSummary: 'feature-summary',
            asrBackend: 'asr-backend', enableDiarization: 'enable-diarization',
            enableVad: 'enable-vad', vadThreshold: 'vad-threshold',
            uploadButton: 'upload-button', cancelButton: 'cancel-button',
            progressSection: 'progress-section', progress: 'progress',
            progressText: 'progress-text', message: 'message', messageText: 'message-text',
            messageDetail: 'message-detail', result: 'result', taskId: 'task-id',
            taskStatus: 'task-status', pollInfo: 'poll-info', taskSize: 'task-size',
            taskMime: 'task-mime', taskSha: 'task-sha256', refreshButton: 'refresh-button',
            service: 'service'
        };
        Object.keys(ids).forEach(function (k) { el[k] = $(ids[k]); });

        var saved = storageGet();
        if (saved) {
            el.apiKey.value = saved;
            el.rememberKey.checked = true;
        }
        el.rememberKey.addEventListener('change', function () {
            storageSet(el.rememberKey.checked ? el.apiKey.value.trim() : '');
        });
        el.apiKey.addEventListener('input', function () {
            markInvalid(el.apiKey, false);
            if (el.rememberKey.checked) storageSet(el.apiKey.value.trim());
        });

        el.file.addEventListener('change', function () {
            setFile(el.file.files && el.file.files[0]);
        });
        initDrop();

        // template_id is needed only with a summary: say so where it matters
        function syncTemplate() {
            el.templateId.required = el.featureSummary.checked;
        }
        el.featureSummary.addEventListener('change', syncTemplate);
        syncTemplate();

        el.form.addEventListener('submit', onSubmit);
        el.cancelButton.addEventListener('click', function () { if (xhr) xhr.abort(); });
        el.refreshButton.addEventListener('click', function () {
            var id = el.taskId.textContent;
            var key = el.apiKey.value.trim();
            if (id && key) startPolling(id, key);
        });
        checkHealth();
    }

    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
    else init();
}());
