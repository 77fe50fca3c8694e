/**
 * The fleet's HOOKS_MODULE for the bench: no hooks at all, so the fleet runs only its primary
 * and workers (the template's hooks may add setup work or extra processes that bare lacks).
 */
export {};
