// The operator's own credential: entered once per tab, kept in sessionStorage, sent as a bearer
// credential. Every decision and redrive is recorded with the name of its operator.
import { announce, field, h, replaceChildren } from "./dom.js";
import { operatorCredential, setOperatorCredential } from "./state.js";

/**
 * A panel asking for the credential when none is kept, or offering to forget it. `onChange`
 * runs after the credential is set or forgotten.
 */
export function credentialPanel(onChange) {
  const panel = h("section", { class: "operator", "aria-label": "Operator access" });
  function draw() {
    if (operatorCredential()) {
      replaceChildren(
        panel,
        h(
          "p",
          { class: "operator-set" },
          "Operator credential set for this tab. ",
          h(
            "button",
            {
              type: "button",
              class: "button link",
              onclick: () => {
                setOperatorCredential("");
                announce("Operator credential forgotten.");
                draw();
                onChange();
              },
            },
            "Forget credential",
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
            const credential = input.value.trim();
            if (!credential) {
              input.focus();
              return;
            }
            setOperatorCredential(credential);
            announce("Operator credential set.");
            draw();
            onChange();
          },
        },
        field(
          "Operator credential",
          input,
          "Your own: `python -m services.orders operators add NAME` prints it (`make demo` prints the demo operator's). It is kept only until this tab closes.",
        ),
        h("button", { type: "submit", class: "button primary" }, "Use credential"),
      ),
    );
  }
  draw();
  return { element: panel, redraw: draw };
}

/** True when a problem means the credential is missing or wrong (the panel then asks again). */
export function isCredentialProblem(error) {
  return error?.status === 401;
}
