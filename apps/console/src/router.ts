import { useEffect, useState } from 'preact/hooks';

/** The console's place, in the URL's fragment (`#/hosts/compute-1`): the server serves one page. */
export function useRoute(): string[] {
  const read = () =>
    (window.location.hash.replace(/^#\/?/, '').split('?')[0] ?? '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export const href = (...parts: string[]) => `#/${parts.map(encodeURIComponent).join('/')}`;
