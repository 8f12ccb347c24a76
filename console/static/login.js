import { api, errorBox } from "/console.js";

const form = document.getElementById("login-form");
const errorSlot = document.getElementById("login-error");
const token = document.getElementById("token");

if (new URLSearchParams(window.location.search).has("failed")) {
  errorSlot.replaceChildren(errorBox(new Error("That access token is not valid: open the address the console printed, or paste its token.")));
}
token.focus();

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorSlot.replaceChildren();
  try {
    await api("/api/login", { method: "POST", body: { token: token.value.trim() } });
    window.location.assign("/");
  } catch (error) {
    token.setAttribute("aria-invalid", "true");
    errorSlot.replaceChildren(errorBox(error));
    token.focus();
  }
});
