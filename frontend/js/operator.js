// The operator token: entered once per tab, kept in sessionStorage, sent as a bearer token.
import { announce, field, h, replaceChildren } from "./dom.js";
import { operatorToken, setOperatorToken } from "./state.js";

/**
 * A panel asking for the token when none is kept, or offering to forget it. `onChange` runs
 * after the token is set or forgotten.
 */
export function tokenPanel(onChange) {
  const panel = h("section", { class: "operator", "aria-label": "Operator access" });
  function draw() {
    if (operatorToken()) {
      replaceChildren(
        panel,
        h(
          "p",
          { class: "operator-set" },
          "Operator token set for this tab. ",
          h(
            "button",
            {
              type: "button",
              class: "button link",
              onclick: () => {
                setOperatorToken("");
                announce("Operator token forgotten.");
                draw();
                onChange();
              },
            },
            "Forget token",
          ),
        ),
      );
      return;
    }
    const input = h("input", { type: "password", autocomplete: "off", required: true, minlength: "1", spellcheck: "false" });
    replaceChildren(
      panel,
      h(
        "form",
        {
          class: "inline-form",
          onsubmit: (event) => {
            event.preventDefault();
            const token = input.value.trim();
            if (!token) {
              input.focus();
              return;
            }
            setOperatorToken(token);
            announce("Operator token set.");
            draw();
            onChange();
          },
        },
        field("Operator token", input, "`make demo` prints it. It is kept only until this tab closes."),
        h("button", { type: "submit", class: "button primary" }, "Use token"),
      ),
    );
  }
  draw();
  return { element: panel, redraw: draw };
}

/** True when a problem means the token is missing or wrong (the panel then asks again). */
export function isTokenProblem(error) {
  return error?.status === 401 || error?.status === 403;
}
