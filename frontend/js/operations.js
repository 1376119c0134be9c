// Operations: every queue's depth and its DLQ's depth, alarm states, redrive per DLQ, and the
// log of what operators did (who, when).
import { listOf, operations } from "./api.js";
import { announce, h, heading, problemBox, replaceChildren, tableRegion } from "./dom.js";
import { dateTime } from "./format.js";
import { credentialPanel, isCredentialProblem } from "./operator.js";
import { poll } from "./poll.js";
import { operatorCredential, setOperatorCredential } from "./state.js";

const REFRESH_MS = 2000;

function depth(side) {
  if (!side) return "—";
  return side.in_flight ? `${side.messages} (+${side.in_flight} in flight)` : String(side.messages);
}

function lastRedrive(side) {
  const task = side?.last_redrive;
  if (!task) return "—";
  const moved = `${task.moved}${task.to_move === null || task.to_move === undefined ? "" : ` of ${task.to_move}`} moved`;
  return `${task.status.toLowerCase()}, ${moved}${task.failure_reason ? `: ${task.failure_reason}` : ""}`;
}

export function render(container) {
  const message = h("div");
  const queuesArea = h("div", { "aria-busy": "true" });
  const alarmsArea = h("div", { "aria-busy": "true" });
  const logArea = h("div", { "aria-busy": "true" });
  const redriveStatus = h("p", { class: "redrive-status", role: "status" });
  const pendingRedrives = new Set();
  const credential = credentialPanel(() => refresh().catch(showProblem));

  function showProblem(error) {
    if (isCredentialProblem(error)) {
      setOperatorCredential("");
      credential.redraw();
    }
    replaceChildren(message, problemBox(error));
  }

  async function redrive(name, button) {
    pendingRedrives.add(name);
    button.disabled = true;
    redriveStatus.textContent = `Starting the redrive of ${name}…`;
    try {
      const started = await operations.redrive(name, operatorCredential());
      redriveStatus.textContent = `Redrive started: ${started.dead_letter} → ${started.destination}.`;
      announce(redriveStatus.textContent);
      replaceChildren(message);
    } catch (error) {
      redriveStatus.textContent = "";
      showProblem(error);
    } finally {
      pendingRedrives.delete(name);
      await refresh().catch(showProblem);
    }
  }

  function alarmBadge(alarm) {
    if (!alarm) return "—";
    return h("span", { class: `badge alarm-${alarm.state.toLowerCase()}` }, alarm.state.replace("_", " "));
  }

  function queueRow(pair, alarmsByQueue) {
    const dlq = pair.dead_letter;
    const running = dlq?.last_redrive?.status === "RUNNING";
    const action =
      dlq && pair.redrivable
        ? h(
            "button",
            {
              type: "button",
              class: "button",
              "data-redrive": dlq.name,
              disabled: running || pendingRedrives.has(dlq.name),
              onclick: (event) => redrive(dlq.name, event.currentTarget),
            },
            "Redrive",
            h("span", { class: "visually-hidden" }, ` ${dlq.name}`),
          )
        : dlq
          ? h("span", { class: "hint" }, "No source queue: inspect")
          : "—";
    return h(
      "tr",
      { "data-queue": pair.queue?.name || dlq?.name, class: dlq?.messages ? "attention" : null },
      h("th", { scope: "row" }, pair.queue?.name || h("span", { class: "hint" }, "(rule, function or topic)")),
      h("td", { class: "number" }, depth(pair.queue)),
      h("td", {}, dlq?.name || "—"),
      h("td", { class: "number dlq-depth" }, depth(dlq)),
      h("td", {}, alarmBadge(alarmsByQueue.get(dlq?.name))),
      h("td", {}, lastRedrive(dlq)),
      h("td", {}, action),
    );
  }

  function queuesTable(pairs, alarms) {
    const alarmsByQueue = new Map(alarms.filter((alarm) => alarm.queue_name).map((alarm) => [alarm.queue_name, alarm]));
    if (!pairs.length) return h("p", {}, "No queue of the stack was found.");
    return tableRegion(
      "Queues",
      h(
        "table",
        { class: "data" },
        h("caption", {}, "Queues and their dead-letter queues (messages waiting)"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Queue", "Messages", "Dead-letter queue", "DLQ messages", "DLQ alarm", "Last redrive"].map((label) =>
              h("th", { scope: "col", class: label.includes("essages") ? "number" : null }, label),
            ),
            h("th", { scope: "col" }, "Action"),
          ),
        ),
        h("tbody", {}, pairs.map((pair) => queueRow(pair, alarmsByQueue))),
      ),
    );
  }

  function alarmsTable(alarms) {
    if (!alarms.length) return h("p", {}, "The stack has no alarm.");
    return tableRegion(
      "Alarms",
      h(
        "table",
        { class: "data" },
        h("caption", {}, "Alarms"),
        h(
          "thead",
          {},
          h("tr", {}, ["Alarm", "State", "Queue", "Since", "Reason"].map((label) => h("th", { scope: "col" }, label))),
        ),
        h(
          "tbody",
          {},
          alarms.map((alarm) =>
            h(
              "tr",
              { "data-alarm": alarm.name },
              h("th", { scope: "row" }, alarm.name),
              h("td", {}, alarmBadge(alarm)),
              h("td", {}, alarm.queue_name || "—"),
              h("td", {}, dateTime(alarm.updated_at)),
              h("td", { class: "reason" }, alarm.reason || "—"),
            ),
          ),
        ),
      ),
    );
  }

  function logTable(entries) {
    if (!entries.length) return h("p", {}, "No operator has acted yet.");
    return tableRegion(
      "Operations log",
      h(
        "table",
        { class: "data" },
        h("caption", {}, "What operators did, newest first (reviews are in each order's timeline)"),
        h(
          "thead",
          {},
          h("tr", {}, ["When", "Operator", "Action", "On", "Outcome"].map((label) => h("th", { scope: "col" }, label))),
        ),
        h(
          "tbody",
          {},
          entries.map((entry) =>
            h(
              "tr",
              { "data-action": entry.action },
              h("th", { scope: "row" }, dateTime(entry.recorded_at)),
              h("td", { class: "operator-name" }, entry.operator),
              h("td", {}, entry.action),
              h("td", {}, entry.target),
              h("td", { class: "reason" }, entry.outcome),
            ),
          ),
        ),
      ),
    );
  }

  async function refresh() {
    const operator = operatorCredential();
    if (!operator) {
      for (const area of [queuesArea, alarmsArea, logArea]) area.removeAttribute("aria-busy");
      replaceChildren(queuesArea, h("p", {}, "Enter your operator credential to see the queues."));
      replaceChildren(alarmsArea, h("p", {}, "Enter your operator credential to see the alarms."));
      replaceChildren(logArea, h("p", {}, "Enter your operator credential to see the log."));
      return true;
    }
    const [queues, alarms, log] = await Promise.all([
      operations.queues(operator),
      operations.alarms(operator),
      operations.log(operator),
    ]);
    replaceChildren(message);
    const focusedRedrive = document.activeElement?.dataset?.redrive;
    for (const area of [queuesArea, alarmsArea, logArea]) area.removeAttribute("aria-busy");
    replaceChildren(queuesArea, queuesTable(listOf(queues, "queues"), listOf(alarms, "alarms")));
    replaceChildren(alarmsArea, alarmsTable(listOf(alarms, "alarms")));
    replaceChildren(logArea, logTable(listOf(log, "entries")));
    if (focusedRedrive) {
      queuesArea.querySelector(`[data-redrive="${CSS.escape(focusedRedrive)}"]`)?.focus();
    }
    return true;
  }

  replaceChildren(
    container,
    heading("Operations"),
    credential.element,
    message,
    h("section", { "aria-labelledby": "queues-heading" }, h("h2", { id: "queues-heading" }, "Queues"), redriveStatus, queuesArea),
    h("section", { "aria-labelledby": "alarms-heading" }, h("h2", { id: "alarms-heading" }, "Alarms"), alarmsArea),
    h("section", { "aria-labelledby": "log-heading" }, h("h2", { id: "log-heading" }, "Operations log"), logArea),
  );
  return poll(refresh, REFRESH_MS, showProblem);
}
