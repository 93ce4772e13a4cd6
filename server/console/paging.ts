/** Previous/next links for an offset-paged list, keeping its filters. */
export function paging(page: number, total: number, size: number, filters: Record<string, string | undefined>) {
  const pages = Math.max(1, Math.ceil(total / size));
  const link = (n: number) => {
    const q = new URLSearchParams(Object.entries(filters).filter((e): e is [string, string] => Boolean(e[1])));
    if (n > 1) q.set('page', String(n));
    const s = q.toString();
    return s ? `?${s}` : '?';
  };
  return {
    page,
    pages,
    total,
    from: total === 0 ? 0 : (page - 1) * size + 1,
    to: Math.min(total, page * size),
    previous: page > 1 ? link(page - 1) : undefined,
    next: page < pages ? link(page + 1) : undefined,
  };
}
