#include "services/gateway/dashboard.h"

namespace taskgrid::gateway {
namespace {

// Elements the tests look for carry ids: #workers, #tasks, #jobs, #status.
// Text is inserted with textContent only (keys and names are user data).
constexpr char kPage[] = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>taskgrid dashboard</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
  h1 { font-size: 1.4em; margin: 0 0 .2em 0; }
  h2 { font-size: 1.1em; margin: 1.2em 0 .4em 0; }
  #status { color: #666; font-size: .9em; }
  #status.error { color: #b00; }
  table { border-collapse: collapse; background: #fff; min-width: 40em; }
  th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; font-size: .9em; }
  th { background: #eee; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .bar { position: relative; width: 14em; height: 1em; background: #e4e4e4; border-radius: 3px; overflow: hidden; }
  .bar .done { position: absolute; left: 0; top: 0; bottom: 0; background: #3a8f3a; }
  .bar .erred { position: absolute; top: 0; bottom: 0; background: #c0392b; }
  .chips span { display: inline-block; margin: 0 .5em .3em 0; padding: .15em .6em; border-radius: 1em; background: #e8eef8; }
  .state-finished { color: #2a7a2a; } .state-failed { color: #b00; } .state-cancelled { color: #777; }
</style>
</head>
<body>
<h1>taskgrid</h1>
<div id="status">connecting&hellip;</div>
<h2>Tasks by state</h2>
<div id="tasks" class="chips"></div>
<h2>Workers</h2>
<table id="workers">
  <thead><tr><th>address</th><th>name</th><th>threads</th><th>memory</th><th>running tasks</th><th>keys held</th><th>resources</th></tr></thead>
  <tbody></tbody>
</table>
<h2>Jobs</h2>
<table id="jobs">
  <thead><tr><th>id</th><th>name</th><th>state</th><th>progress</th><th>keys done / total</th><th>tasks</th></tr></thead>
  <tbody></tbody>
</table>
<script>
"use strict";
const params = new URLSearchParams(location.search);
if (params.has("token")) sessionStorage.setItem("taskgrid-token", params.get("token"));
const token = sessionStorage.getItem("taskgrid-token");

async function api(path) {
  const headers = token ? { "Authorization": "Bearer " + token } : {};
  const res = await fetch(path, { headers, cache: "no-store" });
  if (!res.ok) throw new Error(path + ": HTTP " + res.status);
  return res.json();
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
}

function drawCluster(c) {
  const tasks = document.getElementById("tasks");
  tasks.replaceChildren();
  const states = Object.keys(c.tasks).sort();
  if (states.length === 0) tasks.textContent = "no tasks";
  for (const s of states) {
    const chip = document.createElement("span");
    chip.className = "task-state";
    chip.dataset.state = s;
    chip.textContent = s + ": " + c.tasks[s];
    tasks.appendChild(chip);
  }
  const body = document.querySelector("#workers tbody");
  body.replaceChildren();
  for (const w of c.workers) {
    const row = document.createElement("tr");
    row.className = "worker";
    cell(row, w.address);
    cell(row, w.name);
    cell(row, w.nthreads, "num");
    cell(row, bytes(w.memory) + (w.memory_limit ? " / " + bytes(w.memory_limit) : ""), "num");
    cell(row, w.tasks, "num running");
    cell(row, w.keys_held, "num");
    cell(row, Object.entries(w.resources).map(([k, v]) => k + "=" + v).join(", "));
    body.appendChild(row);
  }
}

function drawJobs(jobs) {
  const body = document.querySelector("#jobs tbody");
  body.replaceChildren();
  for (const j of jobs.slice().reverse()) {
    const row = document.createElement("tr");
    row.className = "job";
    row.dataset.id = j.id;
    cell(row, j.id);
    cell(row, j.name);
    cell(row, j.state, "state state-" + j.state);
    const p = j.progress;
    const bar = document.createElement("div");
    bar.className = "bar";
    const done = document.createElement("div");
    done.className = "done";
    done.style.width = (p.total ? 100 * p.done / p.total : 0) + "%";
    const erred = document.createElement("div");
    erred.className = "erred";
    erred.style.left = done.style.width;
    erred.style.width = (p.total ? 100 * p.erred / p.total : 0) + "%";
    bar.append(done, erred);
    cell(row, "").appendChild(bar);
    cell(row, p.done + " / " + p.total + (p.erred ? " (" + p.erred + " failed)" : ""), "num progress");
    cell(row, j.tasks, "num");
    body.appendChild(row);
  }
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const [cluster, jobs] = await Promise.all([api("/v1/cluster"), api("/v1/jobs")]);
    drawCluster(cluster);
    drawJobs(jobs.jobs);
    status.className = "";
    status.textContent = "scheduler " + cluster.scheduler + " \u2014 " + cluster.workers.length +
        " workers, " + cluster.clients + " clients \u2014 updated " + new Date().toLocaleTimeString();
  } catch (e) {
    status.className = "error";
    status.textContent = "error: " + e.message;
  }
}

refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
)HTML";

}  // namespace

const std::string& DashboardHtml() {
  static const std::string* const page = new std::string(kPage);
  return *page;
}

}  // namespace taskgrid::gateway
