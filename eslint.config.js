// ESLint 9 flat config: typescript-eslint's recommended rules on the sources, tests and examples.
// Formatting is Prettier's job (npm run format:check); nothing here overlaps with it.
const js = require("@eslint/js");
const tseslint = require("typescript-eslint");
const { defineConfig } = require("eslint/config");
const globals = require("globals");

module.exports = defineConfig(
  { ignores: ["dist/", "node_modules/", "bench/node_modules/", "coverage/", ".tmp/"] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      // Job methods take any JSON arguments: JobMethod is (env, ...args: any[]) => unknown.
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true },
      ],
      // `Function` is the type of registered methods passed by reference (MethodRef).
      "@typescript-eslint/no-unsafe-function-type": "off",
      eqeqeq: ["error", "always"],
      "no-console": "off",
    },
  },
  {
    // The docs' executed examples load modules by name, as `require("hrp-cron")` would.
    files: ["test/docs/**/*.ts"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["**/*.js"],
    languageOptions: { sourceType: "commonjs", globals: globals.node },
    rules: {
      "no-redeclare": ["error", { builtinGlobals: false }],
      "@typescript-eslint/no-require-imports": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    // The dashboard's one script runs in the browser (ES2017, no modules, no build).
    files: ["src/dashboard/assets/**/*.js"],
    languageOptions: { sourceType: "script", ecmaVersion: 2017, globals: globals.browser },
  },
);
