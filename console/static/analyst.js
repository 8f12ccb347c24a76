import { errorBox, initPage, showUnavailable } from "/console.js";

const container = document.getElementById("analyst-view");
try {
  const views = await initPage("analyst");
  if (!views.analyst.available) showUnavailable(container, "The regional report", views.analyst.reason);
} catch (error) {
  container.replaceChildren(errorBox(error));
}
