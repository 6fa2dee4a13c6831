// The committed renders (rendered/<stack>/) must match what the program renders now.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readGolden, repositoryStacks } from "../../components/offline/golden";
import { renderToMap } from "../../components/offline/render-cli";

describe("golden renders", () => {
  it("cover every stack of the repository", () => {
    assert.deepEqual(repositoryStacks(), ["lab", "prod"]);
  });

  for (const stack of repositoryStacks()) {
    it(`rendered/${stack} is up to date (refresh: npm run render:golden)`, async () => {
      const now = await renderToMap(stack);
      const committed = readGolden(stack);
      const hint = `rendered/${stack} is out of date: run \`npm run render:golden\` and commit the result`;
      assert.deepEqual([...committed.keys()].sort(), [...now.keys()].sort(), hint);
      for (const [file, content] of now) assert.equal(committed.get(file), content, `${hint} (${file} differs)`);
    });
  }
});
