// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "deploy/**", "bin/**", "eslint.config.js", "tmp/**", "data/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      "no-console": "error",
    },
  },
  {
    // The web console's pages: plain browser ES modules, no types and no build step.
    files: ["console/static/**/*.js"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: "module",
      globals: Object.fromEntries(
        ["window", "document", "fetch", "URLSearchParams", "FormData", "Node", "setTimeout", "clearTimeout", "HTMLElement", "AbortController", "location", "Chart"].map((name) => [name, "readonly"]),
      ),
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, "no-console": "error" },
  },
  {
    // expect.any()/stringMatching() matchers are typed any by vitest.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-unsafe-assignment": "off" },
  },
);
