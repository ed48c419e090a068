// Renders /openapi.json as a plain reference (FastAPI's own docs page needs scripts from a CDN).
"use strict";

(async () => {
  const routes = document.getElementById("routes");
  const make = (tag, text, cls) => {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  };
  const typeOf = (schema) => {
    if (!schema) return "";
    if (schema.format === "binary") return "file";
    if (schema.enum) return schema.enum.join(" | ");
    if (schema.anyOf) return schema.anyOf.map(typeOf).filter((t) => t && t !== "null").join(" | ");
    if (schema.const !== undefined) return JSON.stringify(schema.const);
    let t = schema.type || (schema.$ref ? schema.$ref.split("/").pop() : "");
    const range = [];
    if (schema.minimum !== undefined) range.push(`>= ${schema.minimum}`);
    if (schema.exclusiveMinimum !== undefined) range.push(`> ${schema.exclusiveMinimum}`);
    if (schema.maximum !== undefined) range.push(`<= ${schema.maximum}`);
    if (range.length) t += ` (${range.join(", ")})`;
    return t;
  };
  try {
    const response = await fetch("/openapi.json");
    const spec = await response.json();
    routes.replaceChildren();
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const card = make("section", undefined, "group route");
        const title = make("h2");
        title.append(make("span", method.toUpperCase(), "method"), make("code", path));
        card.append(title);
        if (op.summary) card.append(make("p", op.summary));
        if (op.description && op.description !== op.summary) card.append(make("p", op.description, "hint-text"));
        const body = op.requestBody && op.requestBody.content && op.requestBody.content["multipart/form-data"];
        if (body) {
          const table = make("table");
          const head = make("tr");
          head.append(make("th", "field"), make("th", "type"), make("th", "default"), make("th", "meaning"));
          table.append(head);
          const required = new Set(body.schema.required || []);
          for (const [name, field] of Object.entries(body.schema.properties || {})) {
            const row = make("tr");
            row.append(make("td", name + (required.has(name) ? " *" : "")), make("td", typeOf(field)),
              make("td", field.default === undefined || field.default === null ? "" : JSON.stringify(field.default)),
              make("td", field.description || ""));
            table.append(row);
          }
          card.append(make("p", "multipart/form-data (* required):", "hint-text"), table);
        }
        const answers = make("table");
        for (const [status, answer] of Object.entries(op.responses || {})) {
          const row = make("tr");
          const types = answer.content ? Object.keys(answer.content).join(", ") : "";
          row.append(make("td", status), make("td", types), make("td", answer.description || ""));
          answers.append(row);
        }
        card.append(make("p", "Answers:", "hint-text"), answers);
        routes.append(card);
      }
    }
  } catch (error) {
    routes.replaceChildren(make("p", `Could not read /openapi.json: ${error}`, "error"));
  }
})();
