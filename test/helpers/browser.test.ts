/**
 * The browser finder: its order, an explicit setting that names no executable, the skip reason when nothing is
 * found, and the npm-shipped Chromium doing what the report tests ask of a browser (scripts, dark mode, PDF).
 */
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BROWSER_VARIABLE, findBrowser } from './browser.js';
import { tempFolder } from './cli.js';

const temp = tempFolder('eoplock-browser-');

async function file(name: string, mode: number): Promise<string> {
  const path = join(temp.path(), name);
  await writeFile(path, '#!/bin/sh\nexit 1\n');
  await chmod(path, mode);
  return path;
}

const nameOf = (found: Awaited<ReturnType<typeof findBrowser>>): string => ('name' in found ? found.name : `skip: ${found.skip}`);

describe('findBrowser', () => {
  test(`${BROWSER_VARIABLE} naming a missing or non-executable file is an error, not a fall back`, async () => {
    const system = await file('chromium', 0o755);
    await assert.rejects(findBrowser({ env: { [BROWSER_VARIABLE]: '/nonexistent/chrome' }, systemPaths: [system] }), {
      message: `${BROWSER_VARIABLE}=/nonexistent/chrome: absent; point it at a Chrome/Chromium executable, or unset it to let the tests find one`,
    });
    const plain = await file('plain', 0o644);
    await assert.rejects(findBrowser({ env: { [BROWSER_VARIABLE]: plain }, systemPaths: [system] }), new RegExp(`${BROWSER_VARIABLE}=.*plain: not executable;`));
    await assert.rejects(findBrowser({ env: { [BROWSER_VARIABLE]: temp.path() }, systemPaths: [system] }), /: not a file;/);
  });

  test(`${BROWSER_VARIABLE} comes first, then the system paths in their order`, async () => {
    const mine = await file('my-chrome', 0o755);
    const first = await file('first', 0o644);
    const second = await file('second', 0o755);
    const third = await file('third', 0o755);
    assert.equal(nameOf(await findBrowser({ env: { [BROWSER_VARIABLE]: mine }, systemPaths: [second] })), mine);
    assert.equal(nameOf(await findBrowser({ env: {}, systemPaths: ['/nonexistent/chromium', first, second, third] })), second);
  });

  test('with nothing found, the skip reason names every place looked at', async () => {
    const plain = await file('not-a-browser', 0o644);
    const found = await findBrowser({ env: {}, systemPaths: ['/nonexistent/chromium', plain], channel: false, platform: 'darwin', arch: 'arm64' });
    assert.equal(
      nameOf(found),
      `skip: no browser found; looked for ${BROWSER_VARIABLE} (not set), /nonexistent/chromium (absent), ${plain} (not executable), @sparticuz/chromium (ships Linux x64 only; this is darwin arm64)`,
    );
    const nothing = await findBrowser({ env: {}, systemPaths: [], channel: false, npmChromium: false });
    assert.equal(nameOf(nothing), `skip: no browser found; looked for ${BROWSER_VARIABLE} (not set)`);
  });
});

const linuxX64 = process.platform === 'linux' && process.arch === 'x64';

describe('the npm-shipped Chromium', { skip: linuxX64 ? false : `@sparticuz/chromium ships Linux x64 only; this is ${process.platform} ${process.arch}` }, () => {
  test('is found with no system browser, runs page scripts, follows dark mode and prints a PDF', async () => {
    const found = await findBrowser({ env: {}, systemPaths: [], channel: false });
    assert.ok('name' in found, nameOf(found));
    assert.match(found.name, /^@sparticuz\/chromium \d+\.\d+\.\d+ \(.*eoplock-chromium-[^/]+\/chromium\)$/);
    const browser = await found.launch();
    try {
      const page = await browser.newPage();
      await page.setContent('<style>body{background:#fff}@media (prefers-color-scheme: dark){body{background:#0d1117}}</style><p id="out"></p><script>document.getElementById("out").textContent = String(6 * 7)</script>');
      assert.equal(await page.locator('#out').innerText(), '42');
      await page.emulateMedia({ colorScheme: 'dark' });
      assert.equal(await page.evaluate('getComputedStyle(document.body).backgroundColor'), 'rgb(13, 17, 23)');
      const pdf = await page.pdf({ format: 'A4' });
      assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
      await page.close();
      // Closing the last page leaves the browser running (the package's --single-process flag is left out).
      const again = await browser.newPage();
      assert.equal(await again.evaluate('1 + 1'), 2);
    } finally {
      await browser.close();
    }
  });
});
