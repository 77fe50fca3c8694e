import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { validationFailed } from "../errors.ts";

/** Largest request body the echo route reads. */
export const ECHO_BODY_LIMIT = 16 * 1024;

const EchoRequest = z.object({
  message: z.string().min(1).max(1000),
  times: z.number().int().min(1).max(10).default(1),
});

/** `POST /echo`: a small validated JSON resource to copy from. */
export const echo = new Hono().post(
  "/echo",
  bodyLimit({
    maxSize: ECHO_BODY_LIMIT,
    onError: (c) => c.json({ error: "Payload Too Large", limit: ECHO_BODY_LIMIT }, 413),
  }),
  zValidator("json", EchoRequest, validationFailed),
  (c) => {
    const { message, times } = c.req.valid("json");
    return c.json({ echo: Array.from({ length: times }, () => message) });
  },
);
