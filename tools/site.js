// Behaviour of the site built by tools/build_site.py: the sidebar's toggle on narrow screens, and search.
(function () {
  const btn = document.getElementById('sidebar-toggle'), side = document.getElementById('quarto-sidebar');
  if (btn && side) {
    btn.addEventListener('click', () => {
      const open = side.classList.toggle('open');
      btn.setAttribute('aria-expanded', String(open));
      btn.setAttribute('aria-label', open ? 'hide the pages' : 'show the pages');
    });
    side.addEventListener('click', e => { if (e.target.closest('a')) { side.classList.remove('open'); btn.setAttribute('aria-expanded', 'false'); } });
  }
  // Pagefind's search box; result links are made relative to this folder (every page sits at the site's top)
  if (window.PagefindUI && document.getElementById('search')) {
    new PagefindUI({element: '#search', showSubResults: true, showImages: false, resetStyles: false,
                    baseUrl: new URL('.', location.href).pathname,
                    translations: {placeholder: 'Search'}});
  }
})();
