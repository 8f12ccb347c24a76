import { el, errorBox, initPage } from "/console.js";

const VIEWS = [
  { view: "officer", title: "Border check", href: "/officer.html", text: "Check a traveller against every country's list and see what each country asks you to do." },
  { view: "analyst", title: "Analysis", href: "/analyst.html", text: "The regional report: aggregate counts by region, period and category." },
  { view: "auditor", title: "Audit", href: "/auditor.html", text: "Search answered queries, follow one as a timeline, and check each node's audit log." },
];

const cards = document.getElementById("cards");
try {
  const views = await initPage("home");
  cards.replaceChildren(
    ...VIEWS.map(({ view, title, href, text }) => {
      const info = views[view];
      return el("section", { class: "panel card", "aria-labelledby": `card-${view}` },
        el("h2", { id: `card-${view}` }, info.available ? el("a", { href }, title) : title),
        el("p", {}, text),
        info.available ? el("p", { class: "meta" }, "Available") : el("p", { class: "meta" }, `Unavailable: ${info.reason}.`));
    }),
  );
} catch (error) {
  cards.replaceChildren(errorBox(error));
}
