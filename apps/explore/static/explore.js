// The explorer's page: each form posts to /api/<app>, and the answer's numbers are drawn here
// (heat maps as tables, one cell per weight). Errors come back as {"error": message}: shown, never thrown.
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
const make = (tag, className, text) => {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
};

// --- talking to the server ------------------------------------------------------------------------

async function post(path, body) {
  const options = {method: "POST", body};
  if (!(body instanceof FormData)) {
    options.headers = {"Content-Type": "application/json"};
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let answer;
  try {
    answer = await response.json();
  } catch (_) {
    throw new Error(`the server answered ${response.status} without a message`);
  }
  if (!response.ok || answer.error) throw new Error(answer.error || `the server answered ${response.status}`);
  return answer;
}

function fieldsOf(form) {
  const fields = {};
  for (const element of form.elements) {
    if (element.name && element.type !== "file") fields[element.name] = element.value;
  }
  return fields;
}

// Runs `work` for a section: the error line hidden, the section marked busy, an error shown.
async function attempt(section, work, errorLine = $(".error", section)) {
  errorLine.hidden = true;
  section.classList.add("busy");
  try {
    await work();
  } catch (error) {
    errorLine.textContent = error.message;
    errorLine.hidden = false;
  } finally {
    section.classList.remove("busy");
  }
}

// --- drawing --------------------------------------------------------------------------------------

// A table of weights: rows (e.g. French words) against columns (English words); darker = heavier.
function heatmap(matrix, rowLabels, columnLabels) {
  const table = make("table", "heatmap");
  const peak = Math.max(1e-9, ...matrix.flat());
  const head = table.createTHead().insertRow();
  head.appendChild(make("th"));
  for (const label of columnLabels) head.appendChild(make("th", "column", label));
  const body = table.createTBody();
  matrix.forEach((row, r) => {
    const line = body.insertRow();
    line.appendChild(make("th", "row", rowLabels[r]));
    row.forEach((weight, c) => {
      const cell = make("td", "cell");
      cell.style.background = `rgba(31, 119, 180, ${(weight / peak).toFixed(3)})`;
      cell.title = `${rowLabels[r]} → ${columnLabels[c]}: ${weight.toFixed(3)}`;
      line.appendChild(cell);
    });
  });
  return table;
}

function surprisalColour(nats) {
  const share = Math.min(Math.max(nats, 0) / 6, 1);
  return `hsl(0, 85%, ${(100 - 45 * share).toFixed(1)}%)`;
}

function characterSpan(character, surprisal) {
  const span = make("span", "char", character);
  span.style.background = surprisalColour(surprisal);
  span.title = `${JSON.stringify(character)}: ${surprisal.toFixed(2)} nats`;
  return span;
}

function labelled(label, value) {
  const line = make("p", "fact");
  line.append(make("span", "name", label + ": "), make("span", "value", value));
  return line;
}

// --- translate ------------------------------------------------------------------------------------

// The beam's finished hypotheses, best first, with their scores.
function nBest(hypotheses) {
  const list = make("ol", "n-best");
  for (const h of hypotheses) list.appendChild(make("li", "hypothesis", `${h.translation} (${h.score})`));
  return list;
}

function showTranslation(output, answer) {
  output.replaceChildren(make("p", "translation result", answer.translation));
  for (const sentence of answer.sentences) {
    const block = make("div", "sentence");
    block.appendChild(labelled("score", `${sentence.score} (${answer.beam === 1 ? "greedy" : "beam " + answer.beam})`));
    if (sentence.n_best && sentence.n_best.length > 1) block.appendChild(nBest(sentence.n_best));
    const place = make("div", "map");
    const draw = (matrix, rows) => place.replaceChildren(heatmap(matrix, rows, sentence.source_tokens));
    if (sentence.layers) block.appendChild(layerChoice(sentence, draw));
    draw(sentence.attention, sentence.target_tokens);
    block.appendChild(place);
    output.appendChild(block);
  }
}

// The Transformer's maps: the beam's (last layer, mean of heads), or one layer and head, cross or self.
function layerChoice(sentence, draw) {
  const controls = make("div", "controls");
  const kind = make("select", "kind");
  for (const [value, text] of [["beam", "the beam's attention (last layer, mean of heads)"],
    ["cross", "cross-attention (French → English)"], ["encoder", "encoder self-attention (English → English)"]]) {
    kind.add(new Option(text, value));
  }
  const layer = make("select", "layer");
  sentence.layers.cross.forEach((_, index) => layer.add(new Option(`layer ${index + 1}`, index)));
  const head = make("select", "head");
  head.add(new Option("mean of heads", "mean"));
  sentence.layers.cross[0].forEach((_, index) => head.add(new Option(`head ${index + 1}`, index)));
  const redraw = () => {
    layer.disabled = head.disabled = kind.value === "beam";
    if (kind.value === "beam") return draw(sentence.attention, sentence.target_tokens);
    const heads = sentence.layers[kind.value][layer.value];
    const matrix = head.value === "mean"
      ? heads[0].map((row, r) => row.map((_, c) => heads.reduce((sum, h) => sum + h[r][c], 0) / heads.length))
      : heads[head.value];
    draw(matrix, kind.value === "cross" ? sentence.target_tokens : sentence.source_tokens);
  };
  for (const select of [kind, layer, head]) select.addEventListener("change", redraw);
  controls.append(kind, layer, head);
  layer.disabled = head.disabled = true;
  return controls;
}

// --- caption --------------------------------------------------------------------------------------

function showCaption(output, answer) {
  const [rows, columns] = answer.grid;
  const frame = make("div", "photo");
  const image = make("img", "photo-image");
  image.src = answer.image;
  image.alt = answer.caption;
  const overlay = make("table", "heatmap overlay");
  const body = overlay.createTBody();
  for (let r = 0; r < rows; r++) {
    const line = body.insertRow();
    for (let c = 0; c < columns; c++) line.appendChild(make("td", "cell"));
  }
  frame.append(image, overlay);
  const words = make("p", "words");
  const cells = overlay.querySelectorAll("td");
  const show = (index) => {
    const weights = answer.attention[index];
    const peak = Math.max(1e-9, ...weights);
    // The photo shows through where the word looked; elsewhere it is veiled.
    cells.forEach((cell, i) => {
      cell.style.background = `rgba(0, 0, 0, ${(0.75 * (1 - weights[i] / peak)).toFixed(3)})`;
      cell.title = `${answer.words[index]}: ${weights[i].toFixed(3)}`;
    });
    words.querySelectorAll("button").forEach((b, i) => b.classList.toggle("chosen", i === index));
  };
  answer.words.forEach((word, index) => {
    const button = make("button", "word", word);
    button.type = "button";
    button.addEventListener("mouseenter", () => show(index));
    button.addEventListener("focus", () => show(index));
    button.addEventListener("click", () => show(index));
    words.appendChild(button);
  });
  output.replaceChildren(make("p", "caption result", answer.caption), words, frame);
  if (answer.warning) output.appendChild(make("p", "warning", answer.warning));
  output.appendChild(labelled("score", `${answer.score} (beam ${answer.beam}); hover a word to see where it looked`));
  if (answer.words.length) show(0);
}

// --- sentiment ------------------------------------------------------------------------------------

function showSentiment(output, answer) {
  const peak = Math.max(1e-9, ...answer.attention);
  const words = make("p", "weighted");
  answer.words.forEach((word, index) => {
    const span = make("span", "word", word);
    span.style.background = `rgba(214, 120, 20, ${(answer.attention[index] / peak).toFixed(3)})`;
    span.title = `${word}: ${answer.attention[index]}`;
    words.append(span, " ");
  });
  const bars = make("div", "probabilities");
  for (const [name, probability] of Object.entries(answer.probabilities)) {
    const bar = make("div", "bar");
    bar.style.width = `${(100 * probability).toFixed(1)}%`;
    bars.append(make("span", "name", name), bar, make("span", "value", probability.toFixed(3)));
  }
  output.replaceChildren(make("p", "label result", answer.label),
    labelled("probability", answer.probability.toFixed(3)), bars, words);
}

// --- generate: read the stream line by line, a coloured character at a time -------------------------

async function streamText(section, fields) {
  const output = $(".output", section);
  const response = await fetch("/api/generate/stream", {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(fields)});
  if (!response.ok) {
    const answer = await response.json().catch(() => ({}));
    throw new Error(answer.error || `the server answered ${response.status}`);
  }
  const text = make("pre", "stream");
  text.append(make("span", "prompt", fields.prompt));
  const summary = make("p", "fact summary");
  output.replaceChildren(text, summary);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    pending += decoder.decode(value, {stream: true});
    const lines = pending.split("\n");
    pending = lines.pop();
    for (const line of lines.filter(Boolean)) {
      const event = JSON.parse(line);
      if (event.error) throw new Error(event.error);
      if (event.done) {
        summary.textContent = `${event.characters} characters, ${event.nats_per_character} nats per character`;
        section.classList.add("done");
      } else {
        text.appendChild(characterSpan(event.character, event.surprisal));
      }
    }
  }
}

function showScore(output, answer) {
  const text = make("pre", "stream scored");
  [...answer.text].forEach((character, index) => text.appendChild(characterSpan(character, answer.surprisal[index])));
  output.replaceChildren(text, labelled("score", `${answer.log_probability} nats, ${answer.nats_per_character} ` +
    `nats per character, perplexity ${answer.perplexity}`));
  if (answer.unknown_characters) {
    output.appendChild(make("p", "warning", `characters never seen in training: ${answer.unknown_characters}`));
  }
}

// --- music and dynamics: pictures (and sound) made by the apps' own plotting -----------------------

function showMusic(output, answer) {
  const roll = make("img", "roll");
  roll.src = answer.roll;
  roll.alt = "piano roll";
  output.replaceChildren(labelled("piece", `${answer.style}, ${answer.key || "no key"}, ${answer.metre}, ` +
    `${answer.notes} notes in ${answer.bars} bars`), roll);
  if (answer.wav) {
    const audio = make("audio", "sound");
    audio.controls = true;
    audio.src = answer.wav;
    output.appendChild(audio);
  } else {
    output.appendChild(make("p", "audio-note note", answer.audio_note));
  }
}

function showForecast(output, answer) {
  const plot = make("img", "plot");
  plot.src = answer.plot;
  plot.alt = "forecast against the truth";
  const steps = answer.valid_prediction_steps;
  let valid = `${answer.censored ? "at least " : ""}${steps} steps`;
  if (answer.dt) valid += ` = ${(steps * answer.dt).toPrecision(3)} time units`;
  if (answer.valid_prediction_lyapunov_times !== undefined) valid += ` = ${answer.valid_prediction_lyapunov_times} Lyapunov times`;
  output.replaceChildren(labelled("valid prediction time", valid), labelled("system", `${answer.system}, ` +
    `${answer.steps} steps from a ${answer.window}-step window (seed ${answer.seed})`), plot);
}

// --- wiring ---------------------------------------------------------------------------------------

const SHOW = {translate: showTranslation, sentiment: showSentiment, music: showMusic, dynamics: showForecast};

function choose(app) {
  document.querySelectorAll("section.app").forEach((section) => { section.hidden = section.id !== app; });
  document.querySelectorAll("#tabs button").forEach((b) => b.setAttribute("aria-selected", b.dataset.app === app));
  history.replaceState(null, "", `#${app}`);
}

function wire() {
  document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => choose(b.dataset.app)));
  for (const [app, show] of Object.entries(SHOW)) {
    const section = $(`#${app}`);
    $("form", section).addEventListener("submit", (event) => {
      event.preventDefault();
      section.classList.remove("done");
      attempt(section, async () => {
        show($(".output", section), await post(`/api/${app}`, fieldsOf(event.target)));
        section.classList.add("done");
      });
    });
  }
  const caption = $("#caption");
  const captionForm = $("form", caption);
  const captioned = (body) => attempt(caption, async () => {
    caption.classList.remove("done");
    showCaption($(".output", caption), await post("/api/caption", body));
    caption.classList.add("done");
  });
  const formWith = (name, value) => {
    const body = new FormData();
    for (const [key, text] of Object.entries(fieldsOf(captionForm))) body.append(key, text);
    body.append(name, value);
    return body;
  };
  captionForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = captionForm.elements.image.files[0];
    if (!file) {
      $(".error", caption).textContent = "image: choose a photo (or try an example)";
      $(".error", caption).hidden = false;
      return;
    }
    captioned(formWith("image", file));
  });
  captionForm.elements.image.addEventListener("change", () => captionForm.requestSubmit());
  $(".example", caption).addEventListener("click", () => captioned(formWith("example", Math.floor(Math.random() * 1000))));
  const drop = $(".drop", caption);
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length) captioned(formWith("image", event.dataTransfer.files[0]));
  });

  const generate = $("#generate");
  $("form.sample", generate).addEventListener("submit", (event) => {
    event.preventDefault();
    generate.classList.remove("done");
    const fields = fieldsOf(event.target);
    attempt(generate, () => streamText(generate, fields));
  });
  $("form.score", generate).addEventListener("submit", (event) => {
    event.preventDefault();
    const fields = {...fieldsOf(event.target), model: $("form.sample select[name=model]", generate).value};
    attempt(generate, async () => showScore($(".score-output", generate), await post("/api/generate/score", fields)),
      $(".score-error", generate));
  });
}

async function listModels() {
  const listing = await fetch("/api/apps").then((response) => response.json());
  for (const [app, about] of Object.entries(listing.apps)) {
    document.querySelectorAll(`#${app} select[name=model]`).forEach((select) => {
      about.models.forEach((name) => select.add(new Option(name, name)));
    });
  }
}

const APPS = ["translate", "caption", "sentiment", "generate", "music", "dynamics"];
const chooseFromAddress = () => choose(APPS.includes(location.hash.slice(1)) ? location.hash.slice(1) : "translate");
wire();
window.addEventListener("hashchange", chooseFromAddress);
chooseFromAddress();
listModels();
