import { z } from 'zod';

/** Shapes several admin endpoints share. */
export const idParam = z.object({ id: z.string().min(1).max(200) });

/** `?limit=&offset=`; answered with `paged(item)`. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

export const paged = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });
