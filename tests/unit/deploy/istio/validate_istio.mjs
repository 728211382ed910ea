// Validates Istio objects with the validators shipped by the npm package @kubernetes-models/istio, which are
// compiled from Istio's own CRD schemas (the package has no plain JSON schemas, only these compiled functions).
//
// Usage: node validate_istio.mjs NODE_MODULES_DIR < objects.json
// Input: a JSON array of objects. Output: a JSON array with, per object, the list of error messages (empty: valid;
// an object of a kind the package does not know is an error too, never silently accepted).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const nodeModules = process.argv[2];
const objects = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const obj of objects) {
  const [group, version] = String(obj.apiVersion).split("/");
  const file = join(nodeModules, "@kubernetes-models", "istio", group, version, `${obj.kind}.js`);
  let Model;
  try {
    Model = (await import(pathToFileURL(file).href))[obj.kind];
  } catch (error) {
    results.push([`no model for ${obj.apiVersion} ${obj.kind}: ${error.message}`]);
    continue;
  }
  try {
    new Model(obj).validate();
    results.push([]);
  } catch (error) {
    results.push([error.message]);
  }
}
process.stdout.write(JSON.stringify(results));
